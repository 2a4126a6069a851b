//! The accept loop against real sockets on 127.0.0.1: clients that send a request head or
//! body too slowly (or nothing) are cut off, connections past the cap wait until others
//! close, and shutdown is graceful.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assay_core::{ChatEvent, ChatRequest, ChatResponse, FinishReason, Usage};
use assay_models::{ChatModel, EventStream, ModelError};
use assay_serve::ServerConfig;
use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A model that answers "ok" at once; these tests are about connections, not answers.
struct Echo;

#[async_trait::async_trait]
impl ChatModel for Echo {
    fn id(&self) -> &str {
        "echo"
    }

    async fn complete(&self, _request: ChatRequest) -> Result<ChatResponse, ModelError> {
        Ok(ChatResponse {
            text: "ok".into(),
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
        })
    }

    async fn stream(&self, _request: ChatRequest) -> Result<EventStream, ModelError> {
        let events = vec![
            Ok(ChatEvent::Delta("ok".into())),
            Ok(ChatEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage::default(),
            }),
        ];
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: ServerConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = assay_serve::router(Arc::new(Echo), config.clone()).route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        assay_serve::serve_with(listener, router, &config, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        addr,
        stop: Some(stop),
        done,
    }
}

fn config(header: u64, body: u64, max_connections: usize) -> ServerConfig {
    ServerConfig {
        header_timeout: Duration::from_millis(header),
        body_timeout: Duration::from_millis(body),
        max_connections,
        ..ServerConfig::default()
    }
}

/// Reads until the server closes the connection (or `limit` passes); the bytes and whether
/// it closed.
async fn read_to_close(socket: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response head (and what came with it) or gives up after `limit`.
async fn read_response(socket: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    while !out.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn health_request(addr: SocketAddr) -> String {
    format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_off_after_the_header_timeout() {
    let server = start(config(800, 60_000, 4096)).await;
    let started = Instant::now();
    let mut sockets = Vec::new();
    for i in 0..60 {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 0 {
            // Half a request head, as a slowloris client sends it, never finished.
            socket
                .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ")
                .await
                .unwrap();
        }
        sockets.push(socket);
    }
    // Still open a moment later: the timeout is not a hair trigger.
    let (_, closed) = read_to_close(&mut sockets[0], Duration::from_millis(200)).await;
    assert!(!closed, "closed before the header timeout");
    for (i, socket) in sockets.iter_mut().enumerate() {
        let (_, closed) = read_to_close(socket, Duration::from_secs(10)).await;
        assert!(closed, "connection {i} still open after 10 s");
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "60 half-open connections closed after {took:?} (header timeout 0.8 s)"
    );

    // A keep-alive connection that goes quiet after its request is closed the same way.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(health_request(server.addr).as_bytes())
        .await
        .unwrap();
    let head = read_response(&mut socket, Duration::from_secs(5)).await;
    assert!(head.is_some_and(|h| h.starts_with("HTTP/1.1 200")));
    let (_, closed) = read_to_close(&mut socket, Duration::from_secs(5)).await;
    assert!(closed, "an idle keep-alive connection stayed open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let server = start(config(5_000, 700, 4096)).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\"",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte now and then keeps the connection busy but must not keep the request alive.
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if socket.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_millis(400), trickle)
        .await
        .ok();
    let response = read_response(&mut socket, Duration::from_secs(10))
        .await
        .expect("an answer to the unfinished body");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let server = start(config(30_000, 30_000, 3)).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Give the server the moment it needs to accept the three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    waiting
        .write_all(health_request(server.addr).as_bytes())
        .await
        .unwrap();
    assert_eq!(
        read_response(&mut waiting, Duration::from_millis(700)).await,
        None,
        "a fourth connection was served past a cap of three"
    );
    drop(idle.pop());
    let head = read_response(&mut waiting, Duration::from_secs(5))
        .await
        .expect("served once under the cap");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // Every request knows its peer (the arena's vote checks need it).
    let mut socket = TcpStream::connect(server.addr).await;
    drop(idle.pop());
    let socket = socket.as_mut().unwrap();
    let local = socket.local_addr().unwrap();
    socket
        .write_all(
            format!(
                "GET /peer HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (response, _) = read_to_close(socket, Duration::from_secs(5)).await;
    assert!(response.ends_with(&local.to_string()), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_finishes() {
    let mut server = start(config(30_000, 30_000, 16)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let mut used = TcpStream::connect(server.addr).await.unwrap();
    used.write_all(health_request(server.addr).as_bytes())
        .await
        .unwrap();
    assert!(read_response(&mut used, Duration::from_secs(5))
        .await
        .is_some());
    let _ = server.stop.take().map(|stop| stop.send(()));
    let finished = tokio::time::timeout(Duration::from_secs(5), &mut server.done).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "serve did not return after shutdown: {finished:?}"
    );
    for socket in [&mut idle, &mut used] {
        let (_, closed) = read_to_close(socket, Duration::from_secs(2)).await;
        assert!(closed);
    }
    assert!(TcpStream::connect(server.addr).await.is_err());
}
