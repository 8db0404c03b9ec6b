//! Connectors that speak their own protocol over `wasi:sockets` to the one `ip:port` the policy
//! grants: Redis and PostgreSQL, each against a real server the test starts on a free port, the
//! end state checked with the server's own client (`redis-cli`, `psql`).

use super::{ok, spud_with, tool_error};
use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud_tests::db::{Postgres, Redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reads_and_writes_the_one_granted_server() {
    let Some(redis) = Redis::start() else { return };
    let port = redis.port;
    let (spud, _h) = spud_with(
        &format!(
            "[tools.redis]\nenv = [\"REDIS_URL=redis://127.0.0.1:{port}/0\", \"REDIS_PASSWORD={}\"]\n\
             sockets = {{ tcp_connect = [\"127.0.0.1:{port}\"] }}\n",
            redis.password
        ),
        &["redis"],
    )
    .await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };
    let r = call(
        "redis.set",
        json!({"key": "order:1001", "value": "paid", "ttl_seconds": 3600}),
    )
    .await;
    assert_eq!(ok(&r.outcome), json!({"written": true}));
    let r = call(
        "redis.set",
        json!({"key": "order:1001", "value": "x", "only_if_new": true}),
    )
    .await;
    assert_eq!(ok(&r.outcome), json!({"written": false}));
    let r = call("redis.get", json!({"keys": ["order:1001", "order:404"]})).await;
    assert_eq!(
        ok(&r.outcome)["values"],
        json!({"order:1001": "paid", "order:404": null})
    );
    let r = call(
        "redis.hash_set",
        json!({"key": "stock:B-M8", "fields": {"qty": "12", "reorder_at": "25"}}),
    )
    .await;
    assert_eq!(ok(&r.outcome), json!({"count": 2}));
    let r = call("redis.hash_get", json!({"key": "stock:B-M8"})).await;
    assert_eq!(
        ok(&r.outcome)["fields"],
        json!({"qty": "12", "reorder_at": "25"})
    );
    let r = call(
        "redis.list_push",
        json!({"key": "events", "items": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(ok(&r.outcome), json!({"count": 3}));
    let r = call("redis.list_range", json!({"key": "events", "start": 1})).await;
    assert_eq!(ok(&r.outcome)["items"], json!(["b", "c"]));
    let r = call("redis.scan", json!({"pattern": "order:*"})).await;
    assert_eq!(
        ok(&r.outcome),
        json!({"keys": ["order:1001"], "truncated": false})
    );
    let r = call("redis.command", json!({"args": ["incrby", "visits", "3"]})).await;
    assert_eq!(ok(&r.outcome)["reply"], 3);
    let r = call("redis.delete", json!({"keys": ["events", "nope"]})).await;
    assert_eq!(ok(&r.outcome), json!({"count": 1}));
    let r = call("redis.command", json!({"args": ["BLPOP", "q", "0"]})).await;
    assert!(tool_error(&r.outcome).contains("BLPOP is not run by this connector"));

    // End state, as the native client sees it.
    assert_eq!(redis.cli(&["GET", "order:1001"]).unwrap(), "paid");
    assert_eq!(redis.cli(&["HGET", "stock:B-M8", "qty"]).unwrap(), "12");
    assert_eq!(redis.cli(&["EXISTS", "events"]).unwrap(), "0");

    // Another address than the one granted is a socket denial.
    let (other, _h2) = spud_with(
        &format!(
            "[tools.redis]\nenv = [\"REDIS_URL=redis://127.0.0.1:{}/0\"]\n\
             sockets = {{ tcp_connect = [\"127.0.0.1:{port}\"] }}\n",
            port.wrapping_add(1)
        ),
        &["redis"],
    )
    .await;
    let r = other
        .call("redis.get", &json!({"keys": ["order:1001"]}))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, Capability::Socket);
            assert!(denial.reason.contains("tcp_connect"), "{}", denial.reason);
        }
        other => panic!("expected a socket denial, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_queries_with_parameters_read_only_unless_writes_are_granted() {
    let Some(pg) = Postgres::start() else { return };
    pg.psql(
        "shop",
        "CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, placed date NOT NULL, \
         total numeric(10,2) NOT NULL, paid boolean NOT NULL DEFAULT false); \
         INSERT INTO orders (customer, placed, total, paid) VALUES \
         ('Acme', '2026-11-02', 1200.50, true), ('Bolt & Co', '2026-11-20', 80.00, false), \
         ('Acme', '2026-11-25', 99.99, false), ('Old Ltd', '2026-10-30', 10.00, true);",
    )
    .unwrap();
    let grant = |writes: bool| {
        format!(
            "[tools.postgres]\nenv = [\"POSTGRES_URL=postgresql://{}@127.0.0.1:{}/shop\", \"PGPASSWORD={}\"{}]\n\
             sockets = {{ tcp_connect = [\"127.0.0.1:{}\"] }}\n",
            pg.user,
            pg.port,
            pg.password,
            if writes { ", \"POSTGRES_WRITES=allow\"" } else { "" },
            pg.port
        )
    };
    let (spud, _h) = spud_with(&grant(false), &["postgres"]).await;
    let r = spud.call("postgres.tables", &json!({})).await.unwrap();
    assert_eq!(
        ok(&r.outcome)["tables"],
        json!([{"name": "orders", "columns": ["id integer", "customer text", "placed date", "total numeric", "paid boolean"]}])
    );
    let sales = json!({
        "sql": "SELECT customer, sum(total) AS total, count(*) AS orders, bool_and(paid) AS all_paid \
                FROM orders WHERE placed >= $1 GROUP BY customer ORDER BY customer",
        "params": ["2026-11-01"]
    });
    let r = spud.call("postgres.query", &sales).await.unwrap();
    let out = ok(&r.outcome);
    assert_eq!(
        out["columns"],
        json!(["customer", "total", "orders", "all_paid"])
    );
    assert_eq!(
        out["rows"],
        json!([["Acme", 1300.49, 2, false], ["Bolt & Co", 80, 1, false]])
    );
    // A value is bound, never spliced into the SQL.
    let r = spud
        .call(
            "postgres.query",
            &json!({"sql": "SELECT id FROM orders WHERE customer = $1",
                    "params": ["x'; DROP TABLE orders; --"]}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["rows"], json!([]));
    // Read-only: a change through `query` is refused by the server, `execute` by the connector.
    let r = spud
        .call("postgres.query", &json!({"sql": "DELETE FROM orders"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("25006"), "{:?}", r.outcome);
    let insert = json!({"sql": "INSERT INTO orders (customer, placed, total) VALUES ($1, $2, $3) RETURNING id",
                        "params": ["Nuts Inc", "2026-11-30", 42.5]});
    let r = spud.call("postgres.execute", &insert).await.unwrap();
    assert!(tool_error(&r.outcome).contains("POSTGRES_WRITES=allow"));
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM orders").unwrap(), "4");

    // With writes granted.
    let (writer, _h2) = spud_with(&grant(true), &["postgres"]).await;
    let r = writer.call("postgres.execute", &insert).await.unwrap();
    let out = ok(&r.outcome);
    assert_eq!(
        (out["command"].as_str(), out["rows_affected"].as_u64()),
        (Some("INSERT 0 1"), Some(1))
    );
    assert_eq!(out["rows"], json!([[5]]));
    assert_eq!(
        pg.psql(
            "shop",
            "SELECT customer || ' ' || total FROM orders WHERE id = 5"
        )
        .unwrap(),
        "Nuts Inc 42.50"
    );
}
