//! `spud connectors list [--json]`: every first-party connector, what it needs (grants,
//! credentials, a server) and a one-line example.

use super::output::print_json;
use clap::Subcommand;
use serde::Serialize;

#[derive(Subcommand)]
pub enum ConnectorsCommand {
    /// Every connector: its tools, the grants, credentials and server it needs, an example.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// One connector as listed.
#[derive(Serialize)]
struct Connector {
    name: &'static str,
    component: &'static str,
    what: &'static str,
    tools: &'static [&'static str],
    grants: &'static str,
    credentials: &'static str,
    server: &'static str,
    example: &'static str,
}

const CONNECTORS: &[Connector] = &[
    Connector {
        name: "openapi",
        component: "openapi.wasm",
        what: "any REST API with an OpenAPI 3.x document: one tool per operation",
        tools: &["NAME.<operationId>"],
        grants: "network = [\"<base URL's origin>\"] under [tools.NAME]",
        credentials: "[credentials.X] with tools = [\"NAME\"] (bearer, basic, header:…, query:…)",
        server: "the API itself",
        example: "spud tools add openapi:shop.json --name shop --base-url https://api.example.com && spud call shop.get_item '{\"item_id\": 1}'",
    },
    Connector {
        name: "http",
        component: "http.wasm",
        what: "fetch URLs (REST, webhooks, pages, feeds), redirects checked hop by hop",
        tools: &["http.fetch"],
        grants: "network = [\"https://host\"] under [tools.http]",
        credentials: "[credentials.X] with tools = [\"http\"] for each API",
        server: "whatever it is granted",
        example: "spud call http.fetch '{\"url\": \"https://api.example.com/v1/items\"}'",
    },
    Connector {
        name: "sheet",
        component: "sheet.wasm",
        what: "spreadsheets: read, write and append CSV and XLSX",
        tools: &["sheet.read", "sheet.write", "sheet.append"],
        grants: "files = [{ host = \"…\", guest = \"/data\", access = \"read-write\" }] under [tools.sheet]",
        credentials: "none",
        server: "none (files)",
        example: "spud call sheet.read '{\"path\": \"invoices.xlsx\", \"sheet\": \"November\"}'",
    },
    Connector {
        name: "html",
        component: "html.wasm",
        what: "HTML to readable Markdown, with title and links",
        tools: &["html.to_markdown"],
        grants: "none for HTML passed in; files /data (read-only) for `path`",
        credentials: "none",
        server: "none",
        example: "spud call html.to_markdown '{\"html\": \"<h1>Hi</h1><p>there</p>\"}'",
    },
    Connector {
        name: "pdf",
        component: "pdf.wasm",
        what: "PDF text per page in reading order, tables as rows of cells, metadata",
        tools: &["pdf.text", "pdf.tables", "pdf.info"],
        grants: "files = [{ host = \"…\", guest = \"/data\", access = \"read-only\" }] under [tools.pdf]",
        credentials: "none",
        server: "none (files)",
        example: "spud call pdf.tables '{\"path\": \"receipts/2026-11-21.pdf\"}'",
    },
    Connector {
        name: "git",
        component: "git.wasm",
        what: "Git repositories, read only: history with filters, a commit's patch, the diff of two revisions, grep, branches and tags",
        tools: &["git.log", "git.show", "git.diff", "git.grep", "git.refs"],
        grants: "files = [{ host = \"…\", guest = \"/repos\", access = \"read-only\" }] under [tools.git]",
        credentials: "none",
        server: "none (a repository on disk)",
        example: "spud call git.log '{\"repo\": \"shop\", \"path\": \"src/\", \"since\": \"2026-11-01\"}'",
    },
    Connector {
        name: "feed",
        component: "feed.wasm",
        what: "RSS, Atom and JSON feeds: new items since a date or not yet seen, newest first, with a Markdown digest",
        tools: &["feed.read"],
        grants: "network = [\"https://feed-host\"] under [tools.feed] (or files /data read-only for `path`)",
        credentials: "[credentials.X] with tools = [\"feed\"] for a private feed",
        server: "the feed's web server",
        example: "spud call feed.read '{\"url\": \"https://example.com/news.rss\", \"since\": \"2026-11-30\"}'",
    },
    Connector {
        name: "webhook",
        component: "webhook.wasm",
        what: "post to Slack (and Slack-compatible), Teams (Adaptive Card) or JSON webhooks",
        tools: &["webhook.post"],
        grants: "network = [\"https://hooks.example.com\"] under [tools.webhook]",
        credentials: "a signed webhook: [credentials.X] inject = \"hmac-sha256:X-Signature-256\", tools = [\"webhook\"] (the host signs the body)",
        server: "the webhook's receiver",
        example: "spud call webhook.post '{\"url\": \"https://hooks.slack.com/services/…\", \"format\": \"slack\", \"text\": \"Stock is low\"}'",
    },
    Connector {
        name: "redis",
        component: "redis.wasm",
        what: "Redis: get/set keys, hashes and lists, scan keys, other commands (not blocking or admin ones)",
        tools: &[
            "redis.get",
            "redis.set",
            "redis.delete",
            "redis.scan",
            "redis.hash_get",
            "redis.hash_set",
            "redis.list_range",
            "redis.list_push",
            "redis.command",
        ],
        grants: "sockets = { tcp_connect = [\"IP:PORT\"] } and env = [\"REDIS_URL=redis://IP:PORT/0\"] under [tools.redis]",
        credentials: "the component authenticates itself: env REDIS_PASSWORD (and REDIS_USERNAME), a registered secret",
        server: "redis-server",
        example: "spud call redis.get '{\"keys\": [\"order:1001\"]}'",
    },
    Connector {
        name: "postgres",
        component: "postgres.wasm",
        what: "PostgreSQL: parameterised queries ($1, $2, …) in read-only transactions, the schema's tables, writes only when granted",
        tools: &["postgres.query", "postgres.execute", "postgres.tables"],
        grants: "sockets = { tcp_connect = [\"IP:PORT\"] } and env = [\"POSTGRES_URL=postgresql://USER@IP:PORT/DB\"] under [tools.postgres]; add \"POSTGRES_WRITES=allow\" for `execute`",
        credentials: "the component authenticates itself (SCRAM-SHA-256): env PGPASSWORD, a registered secret",
        server: "PostgreSQL",
        example: "spud call postgres.query '{\"sql\": \"SELECT * FROM orders WHERE placed >= $1\", \"params\": [\"2026-11-01\"]}'",
    },
    Connector {
        name: "smtp",
        component: "smtp.wasm",
        what: "send email: plain text, cc, bcc, reply-to, attachments from /data, from the operator's fixed sender",
        tools: &["smtp.send"],
        grants: "sockets = { tcp_connect = [\"IP:PORT\"] } and env = [\"SMTP_SERVER=IP:PORT\", \"SMTP_FROM=Shop <shop@example.com>\", \"SMTP_USERNAME=…\", \"SMTP_PASSWORD\"] under [tools.smtp]; files /data (read-only) for attachments",
        credentials: "the component authenticates itself (AUTH PLAIN/LOGIN, no TLS): env SMTP_PASSWORD, a registered secret",
        server: "an SMTP relay on the host or a trusted network",
        example: "spud call smtp.send '{\"to\": [\"ann@example.org\"], \"subject\": \"Your order\", \"text\": \"It ships today.\"}'",
    },
    Connector {
        name: "imap",
        component: "imap.wasm",
        what: "a mailbox over IMAP: list folders, search (from, subject, words, dates, unseen, flagged), read a message (text bounded, attachment names), move, flag, save drafts",
        tools: &[
            "imap.folders",
            "imap.search",
            "imap.fetch",
            "imap.move",
            "imap.flag",
            "imap.append",
        ],
        grants: "sockets = { tcp_connect = [\"IP:PORT\"] } and env = [\"IMAP_SERVER=IP:PORT\", \"IMAP_USERNAME=…\", \"IMAP_PASSWORD\", \"IMAP_FROM=Shop <shop@example.com>\"] under [tools.imap]",
        credentials: "the component logs in itself (LOGIN, no TLS): env IMAP_PASSWORD, a registered secret",
        server: "an IMAP server on the host or a trusted network (e.g. Dovecot)",
        example: "spud call imap.search '{\"folder\": \"INBOX\", \"unseen\": true, \"from\": \"acme.example\"}'",
    },
    Connector {
        name: "calendar",
        component: "calendar.wasm",
        what: "CalDAV calendars: list them, events in a time range, free slots, create an event (iCalendar)",
        tools: &[
            "calendar.calendars",
            "calendar.events",
            "calendar.free_slots",
            "calendar.create_event",
        ],
        grants: "network = [\"https://dav-host\"] under [tools.calendar]; calendars are named by URL",
        credentials: "[credentials.X] inject = \"basic\" (value user:password), tools = [\"calendar\"]: the host logs in, the component never sees the password",
        server: "a CalDAV server (e.g. Radicale, Nextcloud)",
        example: "spud call calendar.free_slots '{\"calendar\": \"https://dav.example.com/team/calendar/\", \"start\": \"2026-12-07\", \"end\": \"2026-12-12\", \"minutes\": 60}'",
    },
    Connector {
        name: "contacts",
        component: "contacts.wasm",
        what: "CardDAV address books: search contacts, add a contact (vCard)",
        tools: &["contacts.search", "contacts.add"],
        grants: "network = [\"https://dav-host\"] under [tools.contacts]; address books are named by URL",
        credentials: "[credentials.X] inject = \"basic\" (value user:password), tools = [\"contacts\"]",
        server: "a CardDAV server (e.g. Radicale, Nextcloud)",
        example: "spud call contacts.search '{\"address_book\": \"https://dav.example.com/team/contacts/\", \"query\": \"acme\"}'",
    },
    Connector {
        name: "webdav",
        component: "webdav.wasm",
        what: "files on a WebDAV server (Nextcloud, ownCloud, a NAS): list a folder, read (text, base64, or saved to /data), write (text, base64, a file from /data), make folders, move, delete",
        tools: &[
            "webdav.list",
            "webdav.read",
            "webdav.write",
            "webdav.mkdir",
            "webdav.move",
            "webdav.delete",
        ],
        grants: "network = [\"https://dav-host\"] under [tools.webdav]; files = [{ host = \"…\", guest = \"/data\", access = \"read-write\" }] only for save_to and from_file; files and folders are named by URL",
        credentials: "[credentials.X] inject = \"basic\" (value user:password), tools = [\"webdav\"]: the host logs in, the component never sees the password",
        server: "a WebDAV server (e.g. Nextcloud, ownCloud, Apache mod_dav, WsgiDAV)",
        example: "spud call webdav.list '{\"url\": \"https://dav.example.com/team/invoices/\", \"extension\": \"pdf\"}'",
    },
    Connector {
        name: "s3",
        component: "s3.wasm",
        what: "objects in S3-compatible storage (AWS S3, MinIO, Ceph, …): list under a prefix, get (text, base64, or saved to /data), put (text, base64, a file from /data), delete",
        tools: &["s3.list", "s3.get", "s3.put", "s3.delete"],
        grants: "network = [\"https://s3-endpoint\"] under [tools.s3]; files = [{ host = \"…\", guest = \"/data\", access = \"read-write\" }] only for save_to and from_file; buckets are named by URL",
        credentials: "[credentials.X] inject = \"sigv4:REGION:s3\" (value ACCESS_KEY_ID:SECRET_ACCESS_KEY), tools = [\"s3\"]: the host signs each request (AWS Signature V4), the component never sees the secret key",
        server: "an S3 API (AWS S3, MinIO, Ceph RGW, Garage, …)",
        example: "spud call s3.list '{\"bucket\": \"https://s3.eu-west-1.amazonaws.com/reports/\", \"prefix\": \"2026/11/\"}'",
    },
];

pub fn run(cmd: ConnectorsCommand) -> i32 {
    match cmd {
        ConnectorsCommand::List { json: true } => {
            print_json(&CONNECTORS);
        }
        ConnectorsCommand::List { json: false } => {
            for c in CONNECTORS {
                println!("{} ({}): {}", c.name, c.component, c.what);
                println!("  tools:       {}", c.tools.join(", "));
                println!("  grants:      {}", c.grants);
                println!("  credentials: {}", c.credentials);
                println!("  server:      {}", c.server);
                println!("  example:     {}", c.example);
            }
            println!("\nMore: the book's Connectors and credentials page.");
        }
    }
    0
}
