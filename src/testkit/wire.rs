//! A loopback relay in front of a fake's HTTP server, able to break a connection in the middle
//! of an answer, which an HTTP server library will not do on purpose.
//!
//! The relay copies requests and answers through unchanged, message by message. An answer
//! whose head carries [`CUT`] is cut after its status line, and the connection closes: the
//! client has sent its request and gets no readable answer.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The header a fake's answer carries to be cut short on the wire.
pub(crate) const CUT: &str = "x-orginvite-fake-cut";

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

/// One client connection: requests up, answers down, each framed by its head, its
/// `Content-Length` or chunks, and the request it answers (an answer to `HEAD` has no body).
async fn relay(client: TcpStream, upstream: SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // The methods of the requests sent up, oldest first, for framing their answers.
    let (methods_tx, mut methods) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let up = tokio::spawn(async move {
        let mut buffer = Vec::with_capacity(8192);
        while let Some(head) = next_head(&mut from_client, &mut buffer).await {
            let is_head = head.starts_with("HEAD ");
            let framing = framing(&head);
            if methods_tx.send(is_head).is_err()
                || to_server.write_all(head.as_bytes()).await.is_err()
            {
                break;
            }
            if !copy_body(&mut from_client, &mut to_server, &mut buffer, framing).await {
                break;
            }
        }
        let _ = to_server.shutdown().await;
    });
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    while let Some(head) = next_head(&mut from_server, &mut buffer).await {
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        if (100..200).contains(&status) {
            if to_client.write_all(head.as_bytes()).await.is_err() {
                break;
            }
            continue;
        }
        let answers_head = methods.recv().await.unwrap_or(false);
        if head
            .lines()
            .any(|line| line.to_ascii_lowercase().starts_with(CUT))
        {
            // The status line only: the client reads a broken answer after the request left.
            let status_line = head.split_inclusive("\r\n").next().unwrap_or_default();
            let _ = to_client.write_all(status_line.as_bytes()).await;
            break;
        }
        if to_client.write_all(head.as_bytes()).await.is_err() {
            break;
        }
        let framing = if answers_head || status == 204 || status == 304 {
            Framing::Length(0)
        } else {
            framing(&head)
        };
        if !copy_body(&mut from_server, &mut to_client, &mut buffer, framing).await {
            break;
        }
    }
    // Closing both halves breaks the connection for the client.
    up.abort();
    let _ = to_client.shutdown().await;
}

/// How a message's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// After this many bytes.
    Length(usize),
    /// After the last chunk.
    Chunked,
}

fn framing(head: &str) -> Framing {
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_ascii_lowercase())
    };
    if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        return Framing::Chunked;
    }
    Framing::Length(
        header("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0),
    )
}

/// The next message head (through the blank line), or `None` when the peer is done.
async fn next_head(from: &mut OwnedReadHalf, buffer: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            let head: Vec<u8> = buffer.drain(..at + 4).collect();
            return String::from_utf8(head).ok();
        }
        if !read_more(from, buffer).await {
            return None;
        }
    }
}

/// Copies one body as `framing` delimits it; `false` when a side went away.
async fn copy_body(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    buffer: &mut Vec<u8>,
    framing: Framing,
) -> bool {
    match framing {
        Framing::Length(length) => copy_exactly(from, to, buffer, length).await,
        Framing::Chunked => loop {
            // A chunk's size line, then the chunk and its line end; the last is empty,
            // followed by the (here, empty) trailer.
            let line_end = loop {
                if let Some(at) = find(buffer, b"\r\n") {
                    break at + 2;
                }
                if !read_more(from, buffer).await {
                    return false;
                }
            };
            let size_line = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
            let size =
                usize::from_str_radix(size_line.split(';').next().unwrap_or_default().trim(), 16)
                    .unwrap_or(0);
            if !copy_exactly(from, to, buffer, line_end + size + 2).await {
                return false;
            }
            if size == 0 {
                return true;
            }
        },
    }
}

async fn copy_exactly(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    buffer: &mut Vec<u8>,
    mut left: usize,
) -> bool {
    while left > 0 {
        if buffer.is_empty() && !read_more(from, buffer).await {
            return false;
        }
        let take = left.min(buffer.len());
        if to.write_all(&buffer[..take]).await.is_err() {
            return false;
        }
        buffer.drain(..take);
        left -= take;
    }
    true
}

async fn read_more(from: &mut OwnedReadHalf, buffer: &mut Vec<u8>) -> bool {
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
