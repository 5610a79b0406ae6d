//! `vault serve`: a token endpoint for long-running services.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::*;

struct Serving {
    child: Child,
    addr: String,
    key: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vault serve` for the profiles and waits until it says it serves.
fn serve(env: &Env, profiles: &[&str], extra: &[&str]) -> Serving {
    serve_with(env, profiles, extra, |_| {})
}

/// `serve`, with a last change to the command (limits, say) before it starts.
fn serve_with(
    env: &Env,
    profiles: &[&str],
    extra: &[&str],
    adjust: impl FnOnce(&mut std::process::Command),
) -> Serving {
    let addr = format!("127.0.0.1:{}", free_port());
    let key_file = env.path("serve.key");
    let mut args = vec!["serve"];
    args.extend_from_slice(profiles);
    args.extend(["--listen", &addr, "--key-file", key_file.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let mut command = env.command(&args);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    adjust(&mut command);
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve says something").unwrap();
    assert!(first.starts_with("Serving"), "{first}");
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    Serving { child, addr, key }
}

/// `GET path` with the bearer key; returns the status and the JSON body.
fn get(addr: &str, path: &str, key: &str) -> (u16, serde_json::Value) {
    get_on(TcpStream::connect(addr).unwrap(), path, key)
}

/// `GET path` with the bearer key on a connection already open.
fn get_on(mut stream: TcpStream, path: &str, key: &str) -> (u16, serde_json::Value) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn setup() -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    env.logged_in_profile(&standin, "q", "Atzr|second");
    (standin, env)
}

#[test]
fn concurrent_callers_get_valid_tokens_from_one_refresh_each() {
    let (standin, env) = setup();
    let before = standin.requests();
    // Every token login fetched has under 2 h left: serve refreshes each once.
    let serving = serve(&env, &["p", "q"], &["--refresh-ahead", "2h"]);
    let callers: Vec<_> = (0..64)
        .map(|i| {
            let (addr, key) = (serving.addr.clone(), serving.key.clone());
            std::thread::spawn(move || {
                let profile = if i % 2 == 0 { "p" } else { "q" };
                (0..5)
                    .map(|_| get(&addr, &format!("/token/{profile}"), &key))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for caller in callers {
        for (status, body) in caller.join().unwrap() {
            assert_eq!(status, 200, "{body}");
            assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
            tokens.insert(body["access_token"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        standin.requests(),
        before + 2,
        "one refresh per profile, however many callers"
    );
    let issued: std::collections::BTreeSet<String> =
        (3..=4).map(|n| format!("Atza|standin-{n}")).collect();
    assert_eq!(tokens, issued);
    // The refreshed tokens were saved to the vault too.
    assert!(issued.contains(env.run(&["token", "p"]).ok().stdout.trim()));
}

#[test]
fn a_wrong_or_missing_key_gets_401_and_unknown_profiles_404() {
    let (_standin, env) = setup();
    let serving = serve(&env, &["p"], &[]);
    let (status, _) = get(&serving.addr, "/token/p", "wrong");
    assert_eq!(status, 401);
    let almost = format!("{}x", &serving.key[..serving.key.len() - 1]);
    assert_eq!(get(&serving.addr, "/token/p", &almost).0, 401);
    assert_eq!(
        get(&serving.addr, "/token/q", &serving.key).0,
        404,
        "q exists but is not served"
    );
    assert_eq!(get(&serving.addr, "/other", &serving.key).0, 404);
    assert_eq!(get(&serving.addr, "/token/p", &serving.key).0, 200);
}

#[test]
fn a_revoked_profile_gets_a_clear_error_while_the_others_keep_working() {
    let (standin, env) = setup();
    standin.revoke("Atzr|second");
    let serving = serve(&env, &["p", "q"], &["--refresh-ahead", "2h"]);
    let (status, body) = get(&serving.addr, "/token/q", &serving.key);
    assert_eq!(status, 503);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("invalid_grant") && message.contains("vault login q"),
        "{message}"
    );
    let (status, body) = get(&serving.addr, "/token/p", &serving.key);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_rejected_refresh_is_logged_with_the_command_that_fixes_it() {
    let (standin, env) = setup();
    standin.revoke("Atzr|second");
    let mut serving = serve_with(&env, &["p", "q"], &["--refresh-ahead", "2h"], |c| {
        c.stderr(Stdio::piped());
    });
    let stderr = serving.child.stderr.take().unwrap();
    let line = BufReader::new(stderr).lines().next().unwrap().unwrap();
    assert!(
        line.starts_with("vault serve: profile 'q'")
            && line.contains("invalid_grant")
            && line.contains("`vault login q --self-authorized`"),
        "{line}"
    );
    assert_eq!(get(&serving.addr, "/token/p", &serving.key).0, 200);
}

#[test]
fn sigterm_stops_it_gracefully() {
    let (_standin, env) = setup();
    let mut serving = serve(&env, &["p"], &[]);
    // SAFETY: kill only sends a signal to the child we started.
    unsafe { libc::kill(serving.child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(
        TcpStream::connect(&serving.addr).is_err(),
        "still listening"
    );
}

#[test]
fn other_addresses_need_tls() {
    let (_standin, env) = setup();
    let out = env
        .run(&["serve", "p", "--listen", "0.0.0.0:1"])
        .expect_code(2);
    assert!(out.stderr.contains("--tls-cert"), "{}", out.stderr);
    env.run(&["serve", "nobody", "--listen", "127.0.0.1:1"])
        .expect_code(5);
}

/// A self-signed certificate for localhost and its key, made by openssl: `kind` is
/// the key (`rsa`, `ec-sec1` or `ec-pkcs8`).
fn self_signed(env: &Env, kind: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        env.path(&format!("{kind}-cert.pem")),
        env.path(&format!("{kind}-key.pem")),
    );
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let subject = ["-days", "1", "-subj", "/CN=localhost", "-out", cert_s];
    match kind {
        "rsa" => {
            let mut args = vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes"];
            args.extend(["-keyout", key_s]);
            args.extend(subject);
            openssl(&args);
        }
        _ => {
            let sec1 = env.path(&format!("{kind}-sec1.pem"));
            let sec1_s = sec1.to_str().unwrap();
            openssl(&[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                sec1_s,
            ]);
            let mut args = vec!["req", "-x509", "-new", "-key", sec1_s];
            args.extend(subject);
            openssl(&args);
            if kind == "ec-sec1" {
                std::fs::copy(&sec1, &key).unwrap();
            } else {
                openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", sec1_s, "-out", key_s]);
            }
        }
    }
    (cert, key)
}

fn tls_args<'a>(cert: &'a std::path::Path, key: &'a std::path::Path) -> [&'a str; 4] {
    [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]
}

/// `GET /token/p` over HTTPS with curl, trusting only `cert`.
fn curl_token(serving: &Serving, cert: &std::path::Path) -> serde_json::Value {
    let port = &serving.addr[10..];
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "20", "--cacert", cert.to_str().unwrap()])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-H", &format!("Authorization: Bearer {}", serving.key)])
        .arg(format!("https://localhost:{port}/token/p"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn tls_serves_over_https_with_rsa_and_ec_keys() {
    if !(have("openssl") && have("curl")) {
        return;
    }
    let (_standin, env) = setup();
    for kind in ["rsa", "ec-sec1", "ec-pkcs8"] {
        let (cert, key) = self_signed(&env, kind);
        let serving = serve(&env, &["p"], &tls_args(&cert, &key));
        let body = curl_token(&serving, &cert);
        assert_eq!(
            body["access_token"], "Atza|standin-1",
            "{kind}: the token login cached"
        );
    }
}

#[test]
fn a_bad_key_or_certificate_is_a_clean_error() {
    if !have("openssl") {
        return;
    }
    let (_standin, env) = setup();
    let (cert, key) = self_signed(&env, "rsa");
    let garbage = env.path("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (_, other_key) = self_signed(&env, "ec-sec1");
    for (cert, key, says) in [
        (&cert, &garbage, "--tls-key"),
        (&garbage, &key, "--tls-cert"),
        (&key, &key, "--tls-cert"),
        (&cert, &cert, "--tls-key"),
        (&cert, &other_key, "does not match"),
    ] {
        let mut args = vec!["serve", "p", "--listen", "127.0.0.1:1"];
        args.extend(tls_args(cert, key));
        let out = env.run(&args).expect_code(2);
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// A TLS 1.2 ClientHello offering the usual ECDHE suites, as a record.
fn tls12_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x03];
    hello.extend([0x42; 32]); // client random
    hello.push(0); // no session id
    let suites: [u16; 6] = [0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9];
    hello.extend(((suites.len() * 2) as u16).to_be_bytes());
    suites.iter().for_each(|s| hello.extend(s.to_be_bytes()));
    hello.extend([1, 0]); // compression: null
    let mut extensions = Vec::new();
    let mut extension = |kind: u16, body: &[u8]| {
        extensions.extend(kind.to_be_bytes());
        extensions.extend((body.len() as u16).to_be_bytes());
        extensions.extend(body);
    };
    extension(0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]); // groups
    extension(0x000b, &[1, 0]); // point formats: uncompressed
    extension(
        0x000d,
        &[
            0, 10, 0x08, 0x04, 0x04, 0x01, 0x04, 0x03, 0x08, 0x05, 0x05, 0x01,
        ],
    ); // signature algorithms
    extension(0x0017, &[]); // extended master secret
    extension(0xff01, &[0]); // renegotiation info
    hello.extend((extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    let mut handshake = vec![1];
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// RUSTSEC-2024-0336: a TLS 1.2 client that answers the server's first flight with a
/// bare close_notify made rustls before 0.21.11 spin a core forever.
#[test]
fn a_close_notify_mid_handshake_does_not_spin_a_core() {
    if !have("openssl") {
        return;
    }
    let (_standin, env) = setup();
    let (cert, key) = self_signed(&env, "rsa");
    let serving = serve(&env, &["p"], &tls_args(&cert, &key));
    let mut attacks = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&serving.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(&tls12_client_hello()).unwrap();
        // The server's first flight (ServerHello ... ServerHelloDone) arrives.
        let mut flight = [0u8; 16 * 1024];
        let read = stream.read(&mut flight).unwrap();
        assert!(
            read > 5 && flight[0] == 0x16,
            "a handshake answer: {:?}",
            &flight[..read.min(8)]
        );
        std::thread::sleep(Duration::from_millis(200));
        stream
            .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00])
            .unwrap();
        attacks.push(stream);
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_seconds(serving.child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(serving.child.id()) - before;
    assert!(
        used < 0.5,
        "serve burned {used:.2} CPU seconds in 2 s after the attack"
    );
    drop(attacks);
    if have("curl") {
        assert_eq!(
            curl_token(&serving, &cert)["access_token"],
            "Atza|standin-1"
        );
    }
}

/// Resident memory of a process in KiB, from /proc/PID/status.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn an_endless_header_line_gets_431_and_memory_stays_flat() {
    let (_standin, env) = setup();
    let serving = serve(&env, &["p"], &[]);
    let before = rss_kib(serving.child.id());
    let mut stream = TcpStream::connect(&serving.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /token/p HTTP/1.1\r\nHost: x\r\nX-Long: ").unwrap();
    // 64 MiB of one header line, or until the server hangs up.
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        if stream.write_all(&chunk).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
    let grown = rss_kib(serving.child.id()).saturating_sub(before);
    assert!(grown < 8 * 1024, "serve grew by {grown} KiB");
    assert_eq!(get(&serving.addr, "/token/p", &serving.key).0, 200);
}

#[test]
fn too_many_headers_get_431() {
    let (_standin, env) = setup();
    let serving = serve(&env, &["p"], &[]);
    let mut stream = TcpStream::connect(&serving.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = String::from("GET /token/p HTTP/1.1\r\nHost: x\r\n");
    for i in 0..500 {
        request.push_str(&format!("X-{i}: y\r\n"));
    }
    request.push_str("\r\n");
    let _ = stream.write_all(request.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
}

#[test]
fn a_slow_client_is_disconnected() {
    let (_standin, env) = setup();
    let serving = serve(&env, &["p"], &["--client-timeout", "1s"]);
    let mut stream = TcpStream::connect(&serving.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /token/p HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let ended = stream.read_to_end(&mut answer);
    assert!(
        ended.is_ok() && started.elapsed() < Duration::from_secs(5),
        "still connected after {:?}",
        started.elapsed()
    );
}

/// Sets the child's open-file limit, soft and hard, before it starts.
fn open_file_limit(command: &mut std::process::Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[test]
fn idle_connections_beyond_the_open_file_limit_do_not_stop_the_server() {
    let (_standin, env) = setup();
    let serving = serve_with(&env, &["p"], &["--client-timeout", "1s"], |command| {
        open_file_limit(command, 64)
    });
    // Three times the open-file limit, all idle.
    let idle: Vec<TcpStream> = (0..192)
        .filter_map(|_| TcpStream::connect(&serving.addr).ok())
        .collect();
    assert!(idle.len() > 64, "only {} connections", idle.len());
    let (status, body) = get(&serving.addr, "/token/p", &serving.key);
    assert_eq!(status, 200, "{body}");
    drop(idle);
    assert_eq!(get(&serving.addr, "/token/p", &serving.key).0, 200);
}

/// A connection to `addr` from the loopback address `from` (Linux answers every
/// 127.x.y.z), so that one test can be several clients.
fn connect_from(runtime: &tokio::runtime::Runtime, from: [u8; 4], addr: &str) -> TcpStream {
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((from, 0).into()).unwrap();
        socket.connect(addr.parse().unwrap()).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

/// Whether the server has closed `stream` (it reads the end of the stream at once).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let read = stream.read(&mut [0u8; 64]);
    stream.set_nonblocking(false).unwrap();
    !matches!(read, Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_two_seconds() {
    let (_standin, env) = setup();
    // The default --client-timeout (10 s) is for a request once it has begun.
    let serving = serve(&env, &["p"], &[]);
    let mut silent = TcpStream::connect(&serving.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let started = Instant::now();
    let read = silent.read(&mut [0u8; 16]);
    let after = started.elapsed();
    assert!(
        matches!(read, Ok(0)) && after < Duration::from_secs(4),
        "still open after {after:?} ({read:?})"
    );
}

#[test]
fn one_client_holding_every_connection_cannot_keep_the_others_out() {
    let (_standin, env) = setup();
    // 96 open files leave 64 connections, at most 16 per client address.
    let serving = serve_with(&env, &["p"], &[], |command| open_file_limit(command, 96));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    // The attacker: five addresses, each with more connections than its share, each
    // connection started (one byte, so not closed as silent) and never finished.
    let mut held = Vec::new();
    for last in 2..=6 {
        for _ in 0..24 {
            let mut stream = connect_from(&runtime, [127, 0, 0, last], &serving.addr);
            stream.write_all(b"G").unwrap();
            held.push((last, stream));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let open_from_one: usize = held
        .iter_mut()
        .filter(|(last, _)| *last == 2)
        .map(|(_, stream)| usize::from(!closed_by_server(stream)))
        .sum();
    assert!(
        open_from_one <= 16,
        "one address kept {open_from_one} connections"
    );
    // Someone else, and the attacker's own address with a real request: each is
    // answered at once, not after the attacker's connections time out.
    for stream in [
        TcpStream::connect(&serving.addr).unwrap(),
        connect_from(&runtime, [127, 0, 0, 2], &serving.addr),
    ] {
        let started = Instant::now();
        let (status, body) = get_on(stream, "/token/p", &serving.key);
        assert_eq!(status, 200, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered after {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_key_file_is_replaced_never_written_through() {
    let (_standin, env) = setup();
    let key_file = env.path("serve.key");
    // A readable leftover: replaced by a private file.
    std::fs::write(&key_file, "old").unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let serving = serve(&env, &["p"], &[]);
    assert_eq!(mode(&key_file), 0o600);
    drop(serving);
    // A link to another file: the link is replaced, its target stays as it was.
    let target = env.path("precious");
    std::fs::write(&target, "keep me").unwrap();
    std::fs::remove_file(&key_file).unwrap();
    std::os::unix::fs::symlink(&target, &key_file).unwrap();
    let serving = serve(&env, &["p"], &[]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(
        !std::fs::symlink_metadata(&key_file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), serving.key);
    drop(serving);
    // Missing folders are made private; a folder others can write to is refused.
    let nested = env.path("a/b/serve.key");
    let mut args = vec!["serve", "p", "--listen", "127.0.0.1:0", "--key-file"];
    args.push(nested.to_str().unwrap());
    let open = env.path("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let exposed = open.join("serve.key");
    let out = env
        .run(&[
            "serve",
            "p",
            "--listen",
            "127.0.0.1:1",
            "--key-file",
            exposed.to_str().unwrap(),
        ])
        .expect_code(2);
    assert!(
        out.stderr.contains("other users can write"),
        "{}",
        out.stderr
    );
    assert!(!exposed.exists());
    let mut child = env.command(&args).stdout(Stdio::null()).spawn().unwrap();
    let mut waited = 0;
    while !nested.exists() && waited < 200 {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&env.path("a")), 0o700);
    assert_eq!(mode(&env.path("a/b")), 0o700);
}

/// Profiles p and q logged in with access tokens that live `seconds`.
fn short_lived(seconds: i64) -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    standin.set_expires_in(seconds);
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    env.logged_in_profile(&standin, "q", "Atzr|second");
    (standin, env)
}

/// Whether `body` holds a token that is still valid.
fn unexpired(body: &serde_json::Value) -> bool {
    body["expires_at"]
        .as_str()
        .and_then(|at| at.parse::<jiff::Timestamp>().ok())
        .is_some_and(|at| at > jiff::Timestamp::now())
}

#[test]
fn a_damaged_record_of_one_profile_never_gets_the_others_expired_tokens() {
    let (_standin, env) = short_lived(3);
    let serving = serve(&env, &["p", "q"], &["--refresh-ahead", "1s"]);
    // One flipped byte at the end of the file, put in place under the running
    // server (holding the write lock, as a writer would): the last profile's record.
    let lock = std::fs::File::open(env.vault.with_extension("toml.lock")).unwrap();
    lock.lock().unwrap();
    let mut bytes = env.vault_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    let damaged_copy = env.path("damaged.toml");
    std::fs::write(&damaged_copy, bytes).unwrap();
    std::fs::rename(&damaged_copy, &env.vault).unwrap();
    drop(lock);
    let [damaged, intact] = match env.run(&["token", "q", "--min-valid", "0s"]).code {
        4 => ["q", "p"],
        _ => ["p", "q"],
    };
    env.run(&["token", damaged, "--min-valid", "0s"])
        .expect_code(4);
    // Past the tokens' lifetime: the intact profile is refreshed (on a loaded machine
    // perhaps a little late: never with 200 and an expired token meanwhile), the
    // damaged one says why.
    std::thread::sleep(Duration::from_secs(4));
    // With --refresh-ahead as short as the served margin, a token is refreshed only
    // once it is no longer handed out: a 503 in that moment is right, so ask again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(&serving.addr, &format!("/token/{intact}"), &serving.key);
        if status == 200 {
            assert!(unexpired(&body), "an expired token was handed out: {body}");
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "never refreshed: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = get(&serving.addr, &format!("/token/{damaged}"), &serving.key);
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("damaged"),
        "{body}"
    );
}

#[test]
fn serve_starts_with_a_damaged_record_serving_the_others() {
    let (_standin, env) = short_lived(3600);
    // One flipped byte in q's record, written last by this edit.
    env.run(&["edit-profile", "q", "--marketplace", "FR"]).ok();
    let mut bytes = env.vault_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&env.vault, bytes).unwrap();
    let mut serving = serve_with(&env, &["p", "q"], &[], |command| {
        command.stderr(Stdio::piped());
    });
    let (status, body) = get(&serving.addr, "/token/p", &serving.key);
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&serving.addr, "/token/q", &serving.key);
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("'q'"), "{body}");
    serving.child.kill().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serving.child.stderr.take().unwrap(), &mut stderr).unwrap();
    serving.child.wait().unwrap();
    assert!(
        stderr.contains("profile 'q' is not served") && stderr.contains("vault remove q --yes"),
        "{stderr}"
    );
}

#[test]
fn after_a_passphrase_change_serve_stops_instead_of_serving_expired_tokens() {
    let (_standin, mut env) = short_lived(3);
    let mut serving = serve_with(&env, &["p"], &["--refresh-ahead", "1s"], |command| {
        command.stderr(Stdio::piped());
    });
    env.set("SPVAULT_NEW_PASSPHRASE", "a routine change");
    env.run(&["passwd"]).ok();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = serving.child.try_wait() {
            break;
        }
        let (status, body) = get(&serving.addr, "/token/p", &serving.key);
        assert!(status != 200 || unexpired(&body), "{status} {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = serving
        .child
        .try_wait()
        .unwrap()
        .expect("serve is still running");
    assert!(!status.success());
    let mut stderr = String::new();
    serving
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("key changed") && stderr.contains("no longer serving"),
        "{stderr}"
    );
}

#[test]
fn after_a_passphrase_change_serve_reopens_with_the_unlocked_agent() {
    let (_standin, mut env) = short_lived(3);
    env.run(&["unlock"]).ok();
    let serving = serve(&env, &["p"], &["--refresh-ahead", "1s"]);
    env.set("SPVAULT_NEW_PASSPHRASE", "a routine change");
    env.run(&["passwd"]).ok();
    env.set("SPVAULT_PASSPHRASE", "a routine change");
    env.run(&["unlock"]).ok();
    std::thread::sleep(Duration::from_secs(4));
    let (status, body) = get(&serving.addr, "/token/p", &serving.key);
    assert_eq!(status, 200, "{body}");
    assert!(unexpired(&body), "{body}");
}
