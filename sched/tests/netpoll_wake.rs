//! The netpoller: a G parked on a socket is woken by readiness, whether an M is blocked in the poller or
//! all Ms are busy.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use common::{config, go, run};
use gmp_sched::{Chan, Dir, Outcome, io_wait};

/// Accept and read on non-blocking mio sockets from a G, with a plain thread as the peer.
#[test]
fn a_g_parked_on_a_socket_wakes_when_it_is_ready() {
    for procs in [1, 2] {
        let outcome = run(config(procs), move |s| async move {
            let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let pd = s.netpoll().register(&mut listener).unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                std::thread::sleep(Duration::from_millis(30));
                c.write_all(b"ping").unwrap();
            });
            let (mut conn, _) = loop {
                let seq = pd.seq(Dir::Read);
                match listener.accept() {
                    Ok(c) => break c,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => io_wait(&s, &pd, Dir::Read, seq).await,
                    Err(e) => panic!("{e}"),
                }
            };
            let cpd = s.netpoll().register(&mut conn).unwrap();
            let mut buf = [0u8; 4];
            loop {
                let seq = cpd.seq(Dir::Read);
                match conn.read(&mut buf) {
                    Ok(4) => break,
                    Ok(n) => panic!("short read {n}"),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => io_wait(&s, &cpd, Dir::Read, seq).await,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(&buf, b"ping");
            s.netpoll().deregister(&mut conn, &cpd);
            s.netpoll().deregister(&mut listener, &pd);
        });
        assert_eq!(outcome, Outcome::Exited(0), "at {procs} Ps");
    }
}

/// While every P runs a busy G, socket readiness still gets noticed (sysmon polls, and preempted Gs give
/// Ms a chance to).
#[test]
fn readiness_is_noticed_while_every_p_is_busy() {
    let outcome = run(config(1), move |s| async move {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        go(&s, async move {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                let t = std::time::Instant::now();
                while t.elapsed() < Duration::from_millis(2) && !gmp_sched::preempt_requested() {}
                gmp_sched::yield_now().await;
            }
        });
        let done = Arc::new(Chan::<()>::new(1));
        let d2 = done.clone();
        let s2 = s.clone();
        go(&s, async move {
            let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let pd = s2.netpoll().register(&mut listener).unwrap();
            std::thread::spawn(move || drop(std::net::TcpStream::connect(addr).unwrap()));
            loop {
                let seq = pd.seq(Dir::Read);
                match listener.accept() {
                    Ok(_) => break,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => io_wait(&s2, &pd, Dir::Read, seq).await,
                    Err(e) => panic!("{e}"),
                }
            }
            s2.netpoll().deregister(&mut listener, &pd);
            d2.send(()).await.unwrap();
        });
        done.recv().await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(outcome, Outcome::Exited(0));
}
