//! Sockets from real guests: the echo server under 1,000 concurrent connections from host threads, the
//! HTTP example answered by curl, UDP, socket handles passed between Gs, and the errors Go programs expect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use gmp_tests::{Run, bin, run, run_with, wasm};

/// A server started through the CLI; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(example: &str, procs: usize) -> Server {
        let mut child = Command::new(bin())
            .args(["run", "--procs", &procs.to_string(), wasm(example).to_str().unwrap(), "--", "127.0.0.1:0"])
            .env("GMP_CACHE_DIR", gmp_tests::root().join("target/gmp-cache"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("got {line:?}")).to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 1,000 connections open at once, each sending 10 messages of 1 KiB and checking every byte echoed.
#[test]
fn echo_serves_a_thousand_concurrent_connections() {
    let server = Server::start("echo", 2);
    const CONNS: usize = 1_000;
    let barrier = Arc::new(Barrier::new(CONNS));
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            let (addr, barrier) = (server.addr.clone(), barrier.clone());
            std::thread::Builder::new()
                .stack_size(128 << 10)
                .spawn(move || {
                    let mut s = TcpStream::connect(&addr).expect("connect");
                    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    barrier.wait(); // every connection is open before any talks
                    let mut back = vec![0u8; 1024];
                    for round in 0..10u8 {
                        let msg: Vec<u8> = (0..1024).map(|i| (i as u8) ^ (c as u8) ^ round).collect();
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg, "connection {c} round {round}");
                    }
                })
                .unwrap()
        })
        .collect();
    for c in clients {
        c.join().expect("a client failed");
    }
}

/// curl fetches twice over one kept-alive connection; the second request reuses it.
#[test]
fn http_answers_curl_with_keep_alive() {
    let server = Server::start("http", 2);
    let url = format!("http://{}/", server.addr);
    let out = Command::new("curl")
        .args(["-s", "--max-time", "30", "-w", "[%{http_code} %{num_connects}]\n", &url, &url])
        .output()
        .expect("curl must be installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n[200 1]\nhello\n[200 0]\n", "{out:?}");
}

/// The net_errors guest: refused, address in use, denied by policy, and a peer reset — after each the G
/// carries on. The reset comes from this test: it connects, sends, and closes with RST (linger 0).
#[test]
fn socket_errors_have_go_kinds_and_the_g_keeps_running() {
    let (out, err) = (wasm_gmp::Capture::new(), wasm_gmp::Capture::new());
    let mut cfg = gmp_tests::config("net_errors", 2, &[]);
    // Port 1 is no listener of the program's: connecting there needs a grant, to be refused by the kernel.
    cfg.opts.net.add("connect=127.0.0.1:1").unwrap();
    cfg.opts.stdout = wasm_gmp::Output::Capture(out.clone());
    cfg.opts.stderr = wasm_gmp::Output::Capture(err.clone());
    let program = gmp_tests::program("net_errors");
    let runner = std::thread::spawn(move || wasm_gmp::Runtime::new(cfg.rt).unwrap().run(&program, cfg.opts).unwrap());
    let addr = loop {
        if let Some(l) = out.contents().lines().find_map(|l| l.strip_prefix("listening on ").map(str::to_string)) {
            break l;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"hi").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    let exit = runner.join().unwrap();
    assert_eq!(exit.code, 0, "{}", err.contents());
    let stdout = out.contents();
    let want_prefix = "connect refused: ConnectionRefused\nlisten twice: AddrInUse\nconnect denied: PermissionDenied\n";
    assert!(stdout.starts_with(want_prefix), "{stdout}");
    assert!(stdout.ends_with("read: ConnectionReset\nstill running\n"), "{stdout}");
}

#[test]
fn udp_datagrams_and_passed_sockets() {
    let r: Run = run("udp", 2, &[]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "udp: ping pong\nudp passed: ok\n"), "{r:?}");
}

#[test]
fn a_connection_passed_to_another_g_keeps_working() {
    for procs in [1, 2] {
        let r = run("sock_pass", procs, &[]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "got: world\n"), "{r:?}");
    }
}

/// The default policy (issue 11): a service of the host listening on loopback, over TCP (127.0.0.1, its
/// v4-mapped spelling, ::1) or UDP, is out of a guest's reach, and the denial names the flag that grants
/// it; the guest's own listener and UDP socket are not. With `--net connect=...` for each, every one is
/// reached, and the host sees the connections and the datagram arrive.
#[test]
fn a_host_service_on_loopback_is_out_of_reach_until_granted() {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp6 = std::net::TcpListener::bind("[::1]:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&tcp, &tcp6] {
        s.set_nonblocking(true).unwrap();
    }
    udp.set_nonblocking(true).unwrap();
    let (p, q, u) =
        (tcp.local_addr().unwrap().port(), tcp6.local_addr().unwrap().port(), udp.local_addr().unwrap().port());
    let targets = [
        format!("127.0.0.1:{p}"),
        format!("[::ffff:127.0.0.1]:{p}"),
        format!("[::1]:{q}"),
        format!("udp=127.0.0.1:{u}"),
    ];
    let guest = gmp_tests::wasm("net_policy");
    let run = |grants: &[String]| {
        let mut args: Vec<String> = vec!["run".into()];
        for g in grants {
            args.extend(["--net".to_string(), g.clone()]);
        }
        args.push(guest.to_str().unwrap().into());
        args.extend(targets.iter().cloned());
        let out = gmp_tests::cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let own = "own 127.0.0.1:PORT: ok\nown [::ffff:127.0.0.1]:PORT: ok\nown udp: ok\nclosed udp: PermissionDenied\n";
    let with_own_port = |out: &str| {
        let port = out.lines().find_map(|l| l.strip_prefix("own 127.0.0.1:")).and_then(|l| l.split(':').next());
        out.replace(&format!(":{}:", port.expect("the own-listener line")), ":PORT:")
    };

    let denied = run(&[]);
    assert_eq!(
        with_own_port(&denied),
        format!(
            "127.0.0.1:{p}: PermissionDenied\n[::ffff:127.0.0.1]:{p}: PermissionDenied\n[::1]:{q}: PermissionDenied\n\
             udp=127.0.0.1:{u}: PermissionDenied\nmessage: connect 127.0.0.1:{p}: permission denied by the runtime's \
             network policy (wasm-gmp run --net connect=127.0.0.1:{p} grants it)\n{own}"
        )
    );
    let mut b = [0u8; 8];
    assert_eq!(tcp.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock, "a denied connect reached the host");
    assert_eq!(tcp6.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(udp.recv(&mut b).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);

    let granted =
        run(&[format!("connect=127.0.0.1:{p}"), format!("connect=[::1]:{q}"), format!("connect=127.0.0.1:{u}")]);
    assert_eq!(
        with_own_port(&granted),
        format!("127.0.0.1:{p}: ok\n[::ffff:127.0.0.1]:{p}: ok\n[::1]:{q}: ok\nudp=127.0.0.1:{u}: ok\n{own}")
    );
    for _ in 0..2 {
        tcp.accept().expect("the granted connections arrived");
    }
    tcp6.accept().expect("the granted ::1 connection arrived");
    assert_eq!(udp.recv(&mut b).expect("the granted datagram arrived"), 1);
}

/// `--net none` denies even loopback.
#[test]
fn the_net_policy_can_deny_everything() {
    let mut cfg = gmp_tests::config("sock_pass", 1, &[]);
    cfg.opts.net = wasm_gmp::NetPolicy::none();
    let r = run_with("sock_pass", cfg);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("PermissionDenied") || r.stderr.contains("permission denied"), "{r:?}");
}

/// A read of 0 bytes returns 0 at once (POSIX), whether or not data is waiting, and takes nothing: it is
/// not the end of the stream. A WAT guest on loopback; its watchdog G ends the program with status 9 if a
/// read parks, and checks that fail exit with 10 to 12.
#[test]
fn a_read_of_zero_bytes_returns_zero_at_once_and_loses_nothing() {
    let wat = r#"(module
        (import "gmp" "spawn" (func $spawn (param i32 i32 i32 i32 i32) (result i64)))
        (import "gmp" "sleep" (func $sleep (param i64)))
        (import "gmp" "exit" (func $exit (param i32)))
        (import "gmp" "tcp_listen" (func $listen (param i32 i32 i32) (result i32)))
        (import "gmp" "sock_local_addr" (func $local_addr (param i32 i32 i32) (result i32)))
        (import "gmp" "tcp_connect" (func $connect (param i32 i32) (result i32)))
        (import "gmp" "tcp_accept" (func $accept (param i32 i32 i32 i32) (result i32)))
        (import "gmp" "sock_read" (func $read (param i32 i32 i32) (result i32)))
        (import "gmp" "sock_write" (func $write (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 64) "127.0.0.1:0")
        (data (i32.const 96) "hello")
        (func $ok (param i32) (result i32) (if (i32.lt_s (local.get 0) (i32.const 0)) (then unreachable)) (local.get 0))
        (func $expect (param $got i32) (param $want i32) (param $code i32)
            (if (i32.ne (local.get $got) (local.get $want)) (then (call $exit (local.get $code)))))
        (func (export "_start") (local $l i32) (local $client i32) (local $server i32)
            (drop (call $spawn (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
            (local.set $l (call $ok (call $listen (i32.const 64) (i32.const 11) (i32.const 4))))
            (local.set $client (call $ok (call $connect (i32.const 128)
                (call $ok (call $local_addr (local.get $l) (i32.const 128) (i32.const 64))))))
            (local.set $server (call $ok (call $accept (local.get $l) (i32.const 0) (i32.const 0) (i32.const 8))))
            ;; nothing sent yet: 0 at once, no waiting for data
            (call $expect (call $read (local.get $server) (i32.const 256) (i32.const 0)) (i32.const 0) (i32.const 10))
            (drop (call $ok (call $write (local.get $client) (i32.const 96) (i32.const 5))))
            ;; 5 bytes waiting: still 0, and the bytes stay for the next read
            (call $expect (call $read (local.get $server) (i32.const 256) (i32.const 0)) (i32.const 0) (i32.const 11))
            (call $expect (call $read (local.get $server) (i32.const 256) (i32.const 16)) (i32.const 5) (i32.const 12)))
        (func (export "gmp_entry") (param i32 i32 i32)
            (call $sleep (i64.const 5000000000))             ;; main returns long before this...
            (call $exit (i32.const 9))))                     ;; ...unless a read parked
    "#;
    let program = wasm_gmp::Program::from_bytes(&wasm_gmp::EngineConfig::default(), wat.as_bytes()).unwrap();
    for procs in [1, 2] {
        let r = gmp_tests::run_program("zero-byte read", program.clone(), gmp_tests::config("zero_read", procs, &[]));
        assert_eq!(r.code, 0, "at {procs} Ps (9: a read of 0 bytes parked): {r:?}");
    }
}
