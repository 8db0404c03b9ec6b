//! `spud init --workflow NAME [DIR]`: writes a workflow's plan, policy, seed data and
//! description (from `examples/workflows/NAME`, built into the binary) into a folder for the
//! user to edit.

use super::output::{fail, EXIT_USAGE};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct InitArgs {
    /// The workflow to start from (`spud init --workflow list` names them).
    #[arg(long)]
    workflow: String,
    /// The folder to write (default: ./NAME); it must not hold any of the files yet.
    dir: Option<PathBuf>,
}

/// A workflow as built into the binary.
struct Workflow {
    name: &'static str,
    what: &'static str,
    files: &'static [(&'static str, &'static [u8])],
}

macro_rules! workflow_file {
    ($wf:literal, $file:literal) => {
        (
            $file,
            include_bytes!(concat!("../../../examples/workflows/", $wf, "/", $file)) as &[u8],
        )
    };
}

const WORKFLOWS: &[Workflow] = &[
    Workflow {
        name: "restock",
        what: "restock from inventory: low-stock rows of a stock sheet into a purchase order (XLSX)",
        files: &[
            workflow_file!("restock", "README.md"),
            workflow_file!("restock", "plan.toml"),
            workflow_file!("restock", "policy.toml"),
            workflow_file!("restock", "data/inventory.csv"),
            workflow_file!("restock", "data/supplier.html"),
        ],
    },
    Workflow {
        name: "monitor",
        what: "monitor feeds: new items of two feeds as a digest to a Slack-compatible webhook and a signed event to another",
        files: &[
            workflow_file!("monitor", "README.md"),
            workflow_file!("monitor", "plan.toml"),
            workflow_file!("monitor", "policy.toml"),
            workflow_file!("monitor", "data/supplier-news.rss"),
            workflow_file!("monitor", "data/status.atom"),
        ],
    },
    Workflow {
        name: "sales-report",
        what: "weekly sales report: PostgreSQL (read-only) into XLSX and CSV, the totals to a Slack-compatible webhook",
        files: &[
            workflow_file!("sales-report", "README.md"),
            workflow_file!("sales-report", "plan.toml"),
            workflow_file!("sales-report", "policy.toml"),
            workflow_file!("sales-report", "data/seed.sql"),
        ],
    },
    Workflow {
        name: "reconcile",
        what: "reconcile a bank statement (CSV) against invoices in sandboxed Python: matched payments to XLSX, open invoices to CSV",
        files: &[
            workflow_file!("reconcile", "README.md"),
            workflow_file!("reconcile", "plan.toml"),
            workflow_file!("reconcile", "policy.toml"),
            workflow_file!("reconcile", "data/bank.csv"),
            workflow_file!("reconcile", "data/invoices.csv"),
        ],
    },
    Workflow {
        name: "margins",
        what: "margin check: a catalogue (CSV) against a supplier's price page, margins to XLSX, the items under 30% to a Slack-compatible webhook",
        files: &[
            workflow_file!("margins", "README.md"),
            workflow_file!("margins", "plan.toml"),
            workflow_file!("margins", "policy.toml"),
            workflow_file!("margins", "data/catalog.csv"),
            workflow_file!("margins", "data/price-list.html"),
        ],
    },
    Workflow {
        name: "carts",
        what: "abandoned carts: carts from Redis joined to opted-in customers from PostgreSQL (read-only), a reminder list (CSV), the day marked once in Redis, a Slack-compatible message",
        files: &[
            workflow_file!("carts", "README.md"),
            workflow_file!("carts", "plan.toml"),
            workflow_file!("carts", "policy.toml"),
            workflow_file!("carts", "data/seed.sql"),
            workflow_file!("carts", "data/seed.redis"),
        ],
    },
    Workflow {
        name: "timesheets",
        what: "bill the week's hours: a timesheet and rates (CSV) priced in sandboxed JavaScript, invoice lines to XLSX, totals to CSV and a Teams-compatible webhook",
        files: &[
            workflow_file!("timesheets", "README.md"),
            workflow_file!("timesheets", "plan.toml"),
            workflow_file!("timesheets", "policy.toml"),
            workflow_file!("timesheets", "data/timesheet-w48.csv"),
            workflow_file!("timesheets", "data/rates.csv"),
        ],
    },
    Workflow {
        name: "book-appointment",
        what: "book an appointment: a free calendar slot (CalDAV) for a customer from the address book (CardDAV), booked, confirmed by email (SMTP)",
        files: &[
            workflow_file!("book-appointment", "README.md"),
            workflow_file!("book-appointment", "plan.toml"),
            workflow_file!("book-appointment", "policy.toml"),
            workflow_file!("book-appointment", "data/appointments.ics"),
            workflow_file!("book-appointment", "data/customers.vcf"),
        ],
    },
    Workflow {
        name: "triage-inbox",
        what: "triage the inbox: unread mail (IMAP) sorted in sandboxed Python into invoices, newsletters and support, moved to folders, a reply drafted, the team told (SMTP)",
        files: &[
            workflow_file!("triage-inbox", "README.md"),
            workflow_file!("triage-inbox", "plan.toml"),
            workflow_file!("triage-inbox", "policy.toml"),
            workflow_file!("triage-inbox", "data/inbox/1-invoice-acme.eml"),
            workflow_file!("triage-inbox", "data/inbox/2-newsletter.eml"),
            workflow_file!("triage-inbox", "data/inbox/3-support-damaged.eml"),
            workflow_file!("triage-inbox", "data/inbox/4-invoice-boltco.eml"),
            workflow_file!("triage-inbox", "data/inbox/5-read-lunch.eml"),
        ],
    },
    Workflow {
        name: "expenses",
        what: "receipts into the expense sheet: totals from PDF receipts (tables, or the text when a receipt has none) to XLSX and a CSV per category",
        files: &[
            workflow_file!("expenses", "README.md"),
            workflow_file!("expenses", "plan.toml"),
            workflow_file!("expenses", "policy.toml"),
            workflow_file!("expenses", "data/receipts/2026-11-18-harbour-cafe.pdf"),
            workflow_file!("expenses", "data/receipts/2026-11-21-papeterie-nord.pdf"),
            workflow_file!("expenses", "data/receipts/2026-11-26-city-taxi.pdf"),
        ],
    },
    Workflow {
        name: "file-invoices",
        what: "file supplier invoices from a WebDAV share: new PDFs downloaded and read, a summary sheet (CSV) uploaded to the share, the invoices moved into done/",
        files: &[
            workflow_file!("file-invoices", "README.md"),
            workflow_file!("file-invoices", "plan.toml"),
            workflow_file!("file-invoices", "policy.toml"),
            workflow_file!("file-invoices", "data/suppliers.csv"),
            workflow_file!(
                "file-invoices",
                "share/invoices/inbox/2026-11-24-nordic-fasteners.pdf"
            ),
            workflow_file!(
                "file-invoices",
                "share/invoices/inbox/2026-11-27-harbour-timber.pdf"
            ),
        ],
    },
    Workflow {
        name: "share-report",
        what: "share the week's sales report: a sales sheet (CSV) as XLSX, uploaded to S3-compatible storage (signed by the host), the link to a Slack-compatible webhook",
        files: &[
            workflow_file!("share-report", "README.md"),
            workflow_file!("share-report", "plan.toml"),
            workflow_file!("share-report", "policy.toml"),
            workflow_file!("share-report", "data/sales-w48.csv"),
        ],
    },
    Workflow {
        name: "invoice-reminders",
        what: "chase overdue invoices: unpaid invoices from PostgreSQL, a reminder email per customer (SMTP), a follow-up call booked in a free calendar slot (CalDAV), the invoices marked, the run logged in a sheet",
        files: &[
            workflow_file!("invoice-reminders", "README.md"),
            workflow_file!("invoice-reminders", "plan.toml"),
            workflow_file!("invoice-reminders", "policy.toml"),
            workflow_file!("invoice-reminders", "data/seed.sql"),
            workflow_file!("invoice-reminders", "data/accounts.ics"),
            workflow_file!("invoice-reminders", "data/reminder-log.csv"),
        ],
    },
    Workflow {
        name: "new-customer",
        what: "welcome a new customer: the next signup from a Redis stream, checked in sandboxed Python, added to the address book (CardDAV) and the CRM table (PostgreSQL), a welcome email with the price list (SMTP), the signup acknowledged",
        files: &[
            workflow_file!("new-customer", "README.md"),
            workflow_file!("new-customer", "plan.toml"),
            workflow_file!("new-customer", "policy.toml"),
            workflow_file!("new-customer", "data/seed.redis"),
            workflow_file!("new-customer", "data/seed.sql"),
            workflow_file!("new-customer", "data/customers.vcf"),
            workflow_file!("new-customer", "data/trade-price-list.csv"),
        ],
    },
    Workflow {
        name: "backup-reports",
        what: "back up the week's reports: the files of a local folder copied to S3-compatible storage under a dated prefix (signed by the host) and to a WebDAV share, the object list to a Slack-compatible webhook",
        files: &[
            workflow_file!("backup-reports", "README.md"),
            workflow_file!("backup-reports", "plan.toml"),
            workflow_file!("backup-reports", "policy.toml"),
            workflow_file!("backup-reports", "data/reports/2026-w48/sales-w48.xlsx"),
            workflow_file!("backup-reports", "data/reports/2026-w48/stock-2026-11-29.csv"),
            workflow_file!("backup-reports", "data/reports/2026-w48/timesheets-w48.csv"),
            workflow_file!(
                "backup-reports",
                "share/Archive/2026-w47/stock-2026-11-22.csv"
            ),
        ],
    },
];

pub fn run(args: InitArgs) -> i32 {
    let Some(wf) = WORKFLOWS.iter().find(|w| w.name == args.workflow) else {
        let known: Vec<String> = WORKFLOWS
            .iter()
            .map(|w| format!("  {}: {}", w.name, w.what))
            .collect();
        let msg = format!("workflows:\n{}", known.join("\n"));
        if args.workflow == "list" {
            println!("{msg}");
            return 0;
        }
        return fail(
            &format!("no workflow named `{}`; {msg}", args.workflow),
            EXIT_USAGE,
        );
    };
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(wf.name));
    match write(&dir, wf) {
        Ok(()) => {
            println!(
                "wrote the {} workflow into {}: read README.md there, then `spud --policy {} run --plan {}`",
                wf.name,
                dir.display(),
                dir.join("policy.toml").display(),
                dir.join("plan.toml").display()
            );
            0
        }
        Err(e) => fail(&e, EXIT_USAGE),
    }
}

/// Writes every file of `wf` under `dir`; nothing is written when one of them exists.
fn write(dir: &Path, wf: &Workflow) -> Result<(), String> {
    if let Some((f, _)) = wf.files.iter().find(|(f, _)| dir.join(f).exists()) {
        return Err(format!(
            "{} exists already; choose another folder (spud init --workflow {} DIR)",
            dir.join(f).display(),
            wf.name
        ));
    }
    for (f, bytes) in wf.files {
        let path = dir.join(f);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
