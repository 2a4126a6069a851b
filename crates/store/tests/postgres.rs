//! What is particular to the PostgreSQL backend: URLs, passwords kept out of messages, lost
//! connections. Its behaviour shared with SQLite is tested in `backends.rs`.

mod common;

use assay_store::{Store, StoreError};
use common::{new_run, postgres, vote};

#[test]
fn both_url_schemes_open_and_the_password_stays_out_of_names_and_errors() {
    let server = postgres::shared();
    let url = server.create_database();
    let name = url.rsplit('/').next().unwrap();
    // Trust authentication accepts any password, so this one is only there to be hidden.
    for scheme in ["postgres", "postgresql", "PostgreSQL"] {
        let with_password = format!(
            "{scheme}://postgres:hunter2@127.0.0.1:{}/{name}?connect_timeout=5",
            server.port()
        );
        let store = Store::open_url(&with_password).unwrap();
        let shown = store.path().display().to_string();
        assert_eq!(
            shown,
            format!(
                "{}://postgres@127.0.0.1:{}/{name}?connect_timeout=5",
                scheme.to_ascii_lowercase(),
                server.port()
            )
        );
        let err = store
            .set_run_status("nope", assay_store::RunStatus::Finished, None)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&shown), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!format!("{store:?}").contains("hunter2"));
    }
}

#[test]
fn an_unreachable_server_is_an_error_naming_it_without_the_password() {
    // Port 1 of the loopback address: nothing listens there, so the connection is refused.
    let err = Store::open_url("postgresql://assay:hunter2@127.0.0.1:1/assay").unwrap_err();
    match &err {
        StoreError::Postgres { path, context, .. } => {
            assert_eq!(path.to_str(), Some("postgresql://assay@127.0.0.1:1/assay"));
            assert_eq!(context, "cannot connect");
        }
        other => panic!("expected a PostgreSQL error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("127.0.0.1:1"), "{message}");
}

#[test]
fn a_missing_database_is_an_error_with_the_servers_reason() {
    let server = postgres::shared();
    let err = Store::open_url(&server.url("no_such_database")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("no_such_database") && message.contains("does not exist"),
        "{message}"
    );
}

#[test]
fn a_lost_connection_is_reopened_by_the_next_call() {
    let url = postgres::shared().create_database();
    let store = Store::open_url(&url).unwrap();
    store
        .create_run(&new_run("r", "2024-05-01T10:00:00Z"))
        .unwrap();
    // The server drops the store's connection, as when it restarts.
    let killed = postgres::with_client(&url, |client| {
        let rows = client.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )?;
        Ok(rows.len())
    })
    .unwrap();
    assert_eq!(killed, 1, "the store holds one connection");
    // The first call may learn of the loss by failing; the next reconnects.
    let first = store.run("r");
    if let Err(err) = &first {
        assert!(err.to_string().contains(&url), "{err}");
    }
    assert!(store.run("r").unwrap().is_some());
    assert!(store
        .record_vote(&vote("b", "v", "2024-05-01T10:00:00Z"))
        .unwrap());
}
