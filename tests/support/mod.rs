//! Drives the real `vault` binary in a private folder, with a fast KDF.

#![allow(dead_code)]

pub mod lwa_standin;
pub mod sqs;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

#[allow(unused_imports)]
pub use lwa_standin::{Canned, StandIn};

pub const PASSPHRASE: &str = "correct horse battery staple";
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
pub const APP_ID: &str = "amzn1.sp.solution.01234567-89ab-cdef-0123-456789abcdef";
/// The client secret of app `main`: Amazon's shape, which `app add` insists on.
pub const CLIENT_SECRET: &str =
    "amzn1.oa2-cs.v1.00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee";
/// A refresh token full of what breaks naive quoting (refresh tokens hold no
/// whitespace; the exporters' unit tests cover newlines).
pub const NASTY_REFRESH_TOKEN: &str = "Atzr|it's\"quoted\"$HOME`id`\\back\\slash%s{}";
pub const REFRESH_TOKEN: &str = "Atzr|IwEBIA-test-refresh-token-0001";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(output: Output) -> Out {
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the whole output when the exit code is not the expected one.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Out {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("internal error"),
            "panic: {}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Out {
        self.expect_code(0)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// A private folder with a vault path in it, and the environment to use it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub vault: PathBuf,
    vars: Vec<(String, String)>,
    /// Variables the command must not inherit from the test process.
    removed: Vec<String>,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let vault = dir.path().join("vault").join("vault.toml");
        let mut env = Env {
            dir,
            vault,
            vars: Vec::new(),
            removed: Vec::new(),
        };
        env.set("SPVAULT_FILE", &env.vault.display().to_string());
        env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
        env.set("HOME", &env.dir.path().display().to_string());
        let runtime = env.dir.path().join("run");
        std::fs::create_dir(&runtime).expect("runtime dir");
        env.set("XDG_RUNTIME_DIR", &runtime.display().to_string());
        env
    }

    /// The folder of the unlock agents' sockets.
    pub fn agent_folder(&self) -> PathBuf {
        self.dir.path().join("run").join("spvault")
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.removed.retain(|n| n != name);
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
        self.removed.push(name.to_owned());
    }

    /// Points every proxy variable at `proxy` (and leaves no NO_PROXY exception).
    pub fn use_proxy(&mut self, proxy: &str) {
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            self.set(name, proxy);
        }
        self.set("NO_PROXY", "");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `vault` command with this environment, no inherited SPVAULT_* variables, and
    /// no controlling terminal (so a prompt can never wait for a person).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vault"));
        command.args(args);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("SPVAULT_") || name == "BROWSER" {
                command.env_remove(name.as_ref());
            }
        }
        for name in &self.removed {
            command.env_remove(name);
        }
        command.envs(self.vars.iter().map(|(n, v)| (n, v)));
        // SAFETY: setsid is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Out {
        let child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vault");
        finish(child, input, Duration::from_secs(60))
    }

    /// Adds app `main` (the test client id and application id) with this client secret,
    /// issued just now: it expires in 180 days.
    pub fn add_main_app(&self, client_secret: &str) {
        let expires =
            (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(180 * 24)).to_string();
        self.add_main_app_with(client_secret, &["--expires", &expires])
            .ok();
    }

    /// `vault app add main` from a script, with the secret on stdin and `extra` flags.
    pub fn add_main_app_with(&self, client_secret: &str, extra: &[&str]) -> Out {
        let mut args = vec![
            "app",
            "add",
            "main",
            "--client-id",
            CLIENT_ID,
            "--application-id",
            APP_ID,
            "--client-secret-stdin",
        ];
        args.extend_from_slice(extra);
        self.run_stdin(&args, client_secret)
    }

    /// `vault import python-sp-api FILE --region eu` and `extra` flags.
    pub fn import_yml(&self, file: &Path, extra: &[&str]) -> Out {
        let mut args = vec![
            "import",
            "python-sp-api",
            file.to_str().expect("a UTF-8 path"),
            "--region",
            "eu",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `vault import env FILE --profile NAME --region eu`.
    pub fn import_env(&self, file: &Path, profile: &str) -> Out {
        self.run(&[
            "import",
            "env",
            file.to_str().expect("a UTF-8 path"),
            "--profile",
            profile,
            "--region",
            "eu",
        ])
    }

    /// `vault identity new` into `name` in the test folder: the file and its public key.
    pub fn new_identity(&self, name: &str) -> (PathBuf, String) {
        let identity = self.path(name);
        let public = self
            .run(&["identity", "new", identity.to_str().unwrap()])
            .ok()
            .stdout
            .trim()
            .to_owned();
        (identity, public)
    }

    /// Creates the vault with the cheapest KDF the tool accepts.
    pub fn init_fast(&self) {
        self.run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
            .ok();
    }

    /// A fast vault with app `main` (known to the stand-in when one is given).
    pub fn with_app(&mut self, standin: Option<&StandIn>) {
        self.init_fast();
        self.add_main_app(CLIENT_SECRET);
        if let Some(standin) = standin {
            standin.add_client(CLIENT_ID, CLIENT_SECRET);
            self.set("SPVAULT_LWA_TOKEN_URL", &standin.token_url());
        }
    }

    /// Adds profile `name` in region eu (DE) and logs it in with `refresh_token`.
    pub fn logged_in_profile(&self, standin: &StandIn, name: &str, refresh_token: &str) {
        self.run(&["add-profile", name, "--region", "eu", "--marketplace", "DE"])
            .ok();
        standin.add_refresh_token(CLIENT_ID, refresh_token);
        self.run_stdin(&["login", name, "--refresh-token-stdin"], refresh_token)
            .ok();
    }

    pub fn vault_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.vault).expect("read vault")
    }

    pub fn profiles_json(&self) -> serde_json::Value {
        self.run(&["list", "--json"]).ok().json()
    }

    /// The names `vault list --json` gives.
    pub fn profile_names(&self) -> std::collections::BTreeSet<String> {
        self.profiles_json()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["profile"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Env {
    /// Stops an agent a test left unlocked, so no process outlives the test.
    fn drop(&mut self) {
        if self.agent_folder().exists() {
            let _ = self
                .command(&["lock"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Feeds `input`, then waits for the process (reading its output meanwhile, so a
/// large output cannot block it), killing it (and failing) past `limit`.
/// A stand-in playing LWA, app `main`, and profile `name` logged in.
pub fn logged_in(name: &str) -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, name, REFRESH_TOKEN);
    (standin, env)
}

/// The same with profile `p`, the stand-in playing SP-API too.
pub fn logged_in_with_spapi() -> (StandIn, Env) {
    let (standin, mut env) = logged_in("p");
    env.set("SPVAULT_SPAPI_URL", &standin.base_url());
    (standin, env)
}

pub fn finish(mut child: Child, input: &str, limit: Duration) -> Out {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => Out::from(output.expect("output")),
        Err(_) => {
            // SAFETY: kill only sends a signal to the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let out = Out::from(receiver.recv().expect("output").expect("output"));
            panic!(
                "vault did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                out.stdout, out.stderr
            );
        }
    }
}

/// Whether a program is on PATH. In CI every tool the tests use must be there: a
/// missing one fails the test instead of skipping it.
/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{program} is not installed, but CI must run every test: see scripts/test.sh");
        }
        eprintln!(
            "SKIPPED: {program} is not installed; run scripts/test.sh to install what the tests need"
        );
    }
    found
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// The Python that has `module` (the test venv's, from SPVAULT_TEST_PYTHON, else
/// python3). When it is missing the test is skipped with a message, unless CI runs
/// without scripts/test.sh having reported the install failed (a missing install step
/// must fail CI, not pass it).
pub fn python_with(module: &str) -> Option<String> {
    let python = std::env::var("SPVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    skip_or_fail(&format!("the Python module {module} is missing"));
    None
}

/// A missing package: skipped loudly when scripts/test.sh could not install it
/// (it says so in SPVAULT_CLIENTS_UNAVAILABLE and in its summary), a failure in CI
/// otherwise, skipped with a message on a developer's machine.
pub fn skip_or_fail(what: &str) {
    if let Ok(reason) = std::env::var("SPVAULT_CLIENTS_UNAVAILABLE") {
        eprintln!("SKIPPED: {what} ({reason})");
    } else if std::env::var_os("CI").is_some() {
        panic!("{what}, but CI must run every test: see scripts/test.sh");
    } else {
        eprintln!("SKIPPED: {what}; run scripts/test.sh to install it");
    }
}

/// A python-amazon-sp-api credentials.yml with `sections` sections `{prefix}NNN`, all
/// of the test client id, with refresh tokens `token_len` characters long.
pub fn credentials_yml(prefix: &str, sections: usize, token_len: usize) -> String {
    let mut text = String::from("version: '1.0'\n");
    for i in 0..sections {
        text.push_str(&format!(
            "{prefix}{i:03}:\n  refresh_token: 'Atzr|{}'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 's'\n",
            "r".repeat(token_len)
        ));
    }
    text
}

/// Runs `program args` as the user nobody (uid 65534), for the other-user tests.
/// `program` is a fresh copy: while another test thread forks, its child may briefly
/// hold the copy's write handle, and exec fails with "text file busy"; then retry.
pub fn run_as_nobody(program: &Path, args: &[&str], vars: &[(&str, &Path)]) -> Out {
    use std::os::unix::process::CommandExt;
    let spawn = || {
        Command::new(program)
            .args(args)
            .envs(vars.iter().copied())
            .uid(65534)
            .gid(65534)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    let mut child = spawn();
    for _ in 0..50 {
        match &child {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
                child = spawn();
            }
            _ => break,
        }
    }
    finish(child.expect("spawn as nobody"), "", Duration::from_secs(30))
}

/// `vault` run in a pseudo-terminal (util-linux `script`), driven like a person would:
/// wait for a prompt, then type.
pub struct Terminal {
    child: Child,
    stdin: std::process::ChildStdin,
    chunks: std::sync::mpsc::Receiver<String>,
    pub screen: String,
    seen: usize,
}

impl Terminal {
    pub fn start(env: &Env, args: &[&str]) -> Terminal {
        let template = env.command(&[]);
        let vars: Vec<_> = template
            .get_envs()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        let line = std::iter::once(env!("CARGO_BIN_EXE_vault"))
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .envs(vars)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn script");
        let mut stdout = child.stdout.take().expect("stdout");
        let (sender, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buffer) {
                let _ = sender.send(String::from_utf8_lossy(&buffer[..n]).into_owned());
            }
        });
        let stdin = child.stdin.take().expect("stdin");
        Terminal {
            child,
            stdin,
            chunks,
            screen: String::new(),
            seen: 0,
        }
    }

    /// Waits until `text` appears on the screen after what was already waited for.
    pub fn expect(&mut self, text: &str) {
        while !self.screen[self.seen..].contains(text) {
            let chunk = self
                .chunks
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("never saw {text:?} on:\n{}", self.screen));
            self.screen.push_str(&chunk);
        }
        self.seen += self.screen[self.seen..].find(text).expect("just found") + text.len();
    }

    /// Types a line. A prompt switches the terminal's echo off just after printing
    /// itself; waiting a moment, as a person would, keeps the typing after that.
    pub fn type_line(&mut self, line: &str) {
        std::thread::sleep(Duration::from_millis(300));
        write!(self.stdin, "{line}\r").expect("type");
        self.stdin.flush().expect("flush");
    }

    /// Waits for the command to end; returns its exit code and the whole screen.
    pub fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait");
        self.screen.extend(self.chunks.iter());
        (status.code().unwrap_or(-1), self.screen)
    }
}

/// Where a format 3 or 4 vault file's header ends (after its `sha256 = "…"` line) and its
/// binary age payload starts.
pub fn payload_start(file: &[u8]) -> usize {
    let checksum = file
        .windows(11)
        .position(|w| w == b"\nsha256 = \"")
        .expect("a format 3 or 4 header")
        + 1;
    checksum + file[checksum..].iter().position(|&b| b == b'\n').unwrap() + 1
}

/// A format 3 or 4 vault file's age payload (the root), as its header places it.
pub fn age_payload(file: &[u8]) -> &[u8] {
    let start = payload_start(file);
    let header: toml::Table = toml::from_str(std::str::from_utf8(&file[..start]).unwrap()).unwrap();
    let len = header["payload"]["age_bytes"].as_integer().unwrap() as usize;
    &file[start..start + len]
}
