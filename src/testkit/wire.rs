//! A loopback relay in front of a fake's HTTP server, able to break a connection in the middle
//! of an answer, which an HTTP server library will not do on purpose.
//!
//! The relay copies requests through unchanged. Answers pass through whole unless their head
//! carries [`CUT`]: then the head (without that header) and the first bytes of the body go to
//! the client, and the connection closes.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The header a fake's answer carries to be cut short on the wire.
pub(crate) const CUT: &str = "x-orginvite-fake-cut";

/// How much of a cut answer's body still reaches the client.
const BODY_BEFORE_CUT: usize = 8;

/// A relay listening on loopback; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Relay {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl Relay {
    /// Starts a relay to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> std::io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream));
            }
        });
        Ok(Relay { address, task })
    }

    /// The relay's root URL.
    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: requests up, answers down, each answer read by its head and
/// `Content-Length`.
async fn relay(client: TcpStream, upstream: SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
        let _ = to_server.shutdown().await;
    });
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // The head of the next answer.
        let head_end = loop {
            if let Some(at) = find(&buffer, b"\r\n\r\n") {
                break at + 4;
            }
            if !read_more(&mut from_server, &mut buffer).await {
                up.abort();
                return;
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let length = content_length(&head);
        let cut = head
            .lines()
            .any(|line| line.to_ascii_lowercase().starts_with(CUT));
        let head: String = head
            .split_inclusive("\r\n")
            .filter(|line| !line.to_ascii_lowercase().starts_with(CUT))
            .collect();
        buffer.drain(..head_end);
        if to_client.write_all(head.as_bytes()).await.is_err() {
            break;
        }
        if cut {
            while buffer.len() < BODY_BEFORE_CUT.min(length) {
                if !read_more(&mut from_server, &mut buffer).await {
                    break;
                }
            }
            let some = buffer
                .len()
                .min(BODY_BEFORE_CUT)
                .min(length.saturating_sub(1));
            let _ = to_client.write_all(&buffer[..some]).await;
            break;
        }
        // The body, forwarded as it comes.
        let mut left = length;
        while left > 0 {
            if buffer.is_empty() && !read_more(&mut from_server, &mut buffer).await {
                up.abort();
                return;
            }
            let take = left.min(buffer.len());
            if to_client.write_all(&buffer[..take]).await.is_err() {
                up.abort();
                return;
            }
            buffer.drain(..take);
            left -= take;
        }
    }
    // Closing both halves breaks the connection for the client.
    up.abort();
    let _ = to_client.shutdown().await;
}

async fn read_more(from: &mut tokio::net::tcp::OwnedReadHalf, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match from.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The `Content-Length` of an answer's head; 0 when there is none.
fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}
