//! A TCP echo server: the main G accepts connections and hands each to a G of its own, which sends back
//! whatever it reads until the client closes. The first argument is the address to listen on (default
//! `127.0.0.1:8080`; port 0 picks a free one). Once connections are accepted it prints the address it is
//! bound to, then serves forever:
//!
//! ```text
//! listening on 127.0.0.1:8080
//! ```
//!
//! Try it with `nc 127.0.0.1 8080`.

use std::io::{self, Write};
use std::time::Duration;

use gmp::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on {}", listener.local_addr()?);
    // Whoever started us (a test, a script) waits for this line before connecting.
    io::stdout().flush()?;
    for conn in listener.incoming() {
        match conn {
            // The stream travels to the new G as a handle; this G's copy is closed once it is spawned.
            Ok(conn) => {
                gmp::go_with(conn, echo);
            }
            Err(e) => {
                // Out of file descriptors, say: give the other Gs a moment to close some.
                eprintln!("echo: {e}");
                gmp::time::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

/// Copies the connection's input back to it until end of stream (or an error: a client that resets the
/// connection is no concern of the server's). Reading and writing go through `&TcpStream`, so one stream
/// serves as both ends of the copy.
fn echo(conn: TcpStream) {
    let _ = io::copy(&mut &conn, &mut &conn);
}
