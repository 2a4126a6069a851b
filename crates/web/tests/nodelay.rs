//! `web::serve` sets TCP_NODELAY on every connection it accepts (it serves through the accept
//! loop of `assay-serve`): an answer streams as many small writes, and Nagle's algorithm would
//! hold each behind the acknowledgement of the one before.
//!
//! The option is the server's side of the connection, which a client cannot see; this test
//! serves in its own process, so it finds the server's socket among its own descriptors (by
//! its two addresses) and reads the option there.
#![cfg(target_os = "linux")]

use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};

use rustix::net::sockopt::tcp_nodelay;
use rustix::net::{getpeername, getsockname};
use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A copy of this process's socket whose local address is `local` and peer `peer`.
fn own_socket(local: SocketAddr, peer: SocketAddr) -> Option<OwnedFd> {
    // pidfd_getfd copies a descriptor by number without unsafe code.
    let me = pidfd_open(getpid(), PidfdFlags::empty()).expect("pidfd_open");
    let entries = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
    entries.flatten().find_map(|entry| {
        let number: RawFd = entry.file_name().to_str()?.parse().ok()?;
        let fd = pidfd_getfd(&me, number, PidfdGetfdFlags::empty()).ok()?;
        let this_local = SocketAddr::try_from(getsockname(&fd).ok()?).ok()?;
        let this_peer = SocketAddr::try_from(getpeername(&fd).ok()??).ok()?;
        (this_local == local && this_peer == peer).then_some(fd)
    })
}

#[tokio::test]
async fn served_connections_have_tcp_nodelay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(assay_web::serve(listener, router, async {
        let _ = stopped.await;
    }));

    // One answered request: the connection has been accepted and set up.
    let mut client = tokio::net::TcpStream::connect(server).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = client.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let client_addr = client.local_addr().unwrap();

    let served = own_socket(server, client_addr).expect("the server's side of the connection");
    assert!(
        tcp_nodelay(&served).unwrap(),
        "the server's socket lacks TCP_NODELAY"
    );
    // The check can tell: the client's socket was left with Nagle's algorithm on.
    let ours = own_socket(client_addr, server).expect("the client's socket");
    assert!(!tcp_nodelay(&ours).unwrap());

    drop(client);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
