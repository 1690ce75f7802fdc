//! A bare TCP server for faults wiremock cannot play: hanging, closing mid-exchange, trickling
//! or endless bodies. It counts the requests it read and the body bytes it sent.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with each connection, once it has read a request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Never answers.
    Hang,
    /// Closes the connection without answering.
    Close,
    /// Sends the status line and headers, then the body one byte at a time, `pause` apart.
    Trickle { status: u16, pause: Duration },
    /// Sends a chunked body of `total` bytes, as fast as the client reads it.
    Stream { status: u16, total: u64 },
    /// Announces a `Content-Length` of `length`, then streams up to that many bytes.
    Announce { status: u16, length: u64 },
}

#[derive(Clone, Debug, Default)]
pub struct Counters {
    requests: Arc<AtomicUsize>,
    body_bytes: Arc<AtomicU64>,
}

impl Counters {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn body_bytes_sent(&self) -> u64 {
        self.body_bytes.load(Ordering::SeqCst)
    }
}

/// Starts the server; returns its base URL and counters. It stops with the test's runtime.
pub async fn start(behaviour: Behaviour) -> (String, Counters) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let counters = Counters::default();
    let shared = counters.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counters = shared.clone();
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                let _ = serve(stream, behaviour, counters).await;
            });
        }
    });
    (format!("http://{address}"), counters)
}

/// Reads one request: headers, then a body of `Content-Length` bytes.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&seen[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = seen.len() - header_end;
    while have < length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
    }
    Ok(())
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    counters: Counters,
) -> std::io::Result<()> {
    read_request(&mut stream).await?;
    counters.requests.fetch_add(1, Ordering::SeqCst);
    match behaviour {
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::Close => {}
        Behaviour::Trickle { status, pause } => {
            stream
                .write_all(format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n").as_bytes())
                .await?;
            for _ in 0..1000 {
                stream.write_all(b" ").await?;
                counters.body_bytes.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(pause).await;
            }
        }
        Behaviour::Stream { status, total } => {
            stream
                .write_all(format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n").as_bytes())
                .await?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < total {
                let n = chunk.len().min((total - sent) as usize);
                stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                stream.write_all(&chunk[..n]).await?;
                stream.write_all(b"\r\n").await?;
                sent += n as u64;
                counters.body_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Behaviour::Announce { status, length } => {
            stream
                .write_all(format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {length}\r\n\r\n").as_bytes())
                .await?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < length {
                let n = chunk.len().min((length - sent) as usize);
                stream.write_all(&chunk[..n]).await?;
                sent += n as u64;
                counters.body_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    Ok(())
}
