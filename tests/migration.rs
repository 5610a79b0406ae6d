//! Moving in from plaintext, and proof that the real SP-API client libraries work,
//! unchanged, with what spvault exports.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use support::*;

/// A .env as the plaintext token scripts wrote it (python-dotenv syntax).
const OLD_SCRIPT_ENV: &str = "# Amazon SP-API, used by refresh_token.py\n\
AMAZON_CLIENT_ID=amzn1.application-oa2-client.0123456789abcdef0123456789abcdef\n\
AMAZON_CLIENT_SECRET=\"amzn1.oa2-cs.v1.s3cr3t with spaces\"\n\
export AMAZON_REFRESH_TOKEN='Atzr|IwEBIold-script-token'\n\
AMAZON_ACCESS_TOKEN=Atza|expired-long-ago\n\
REPORT_FOLDER=/tmp/reports  # not a credential\n";

fn standin_env() -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.init_fast();
    env.set("SPVAULT_LWA_TOKEN_URL", &standin.token_url());
    standin.add_client(CLIENT_ID, "amzn1.oa2-cs.v1.s3cr3t with spaces");
    standin.add_refresh_token(CLIENT_ID, "Atzr|IwEBIold-script-token");
    standin.add_refresh_token(CLIENT_ID, "Atzr|second");
    (standin, env)
}

#[test]
fn an_old_script_env_file_is_imported_and_refreshes() {
    let (standin, env) = standin_env();
    let source = env.path(".env");
    std::fs::write(&source, OLD_SCRIPT_ENV).unwrap();
    let out = env
        .run(&[
            "import",
            "env",
            source.to_str().unwrap(),
            "--profile",
            "eu",
            "--region",
            "eu",
            "--marketplace",
            "DE",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("AMAZON_CLIENT_ID, AMAZON_CLIENT_SECRET, AMAZON_REFRESH_TOKEN"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("not imported: AMAZON_ACCESS_TOKEN"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ignored: REPORT_FOLDER"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Kept"),
        "no terminal, no flag: the file stays: {}",
        out.stdout
    );
    for secret in ["s3cr3t", "Atzr|", "Atza|"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{secret} shown"
        );
    }
    assert!(source.exists());

    env.run(&["token", "eu"]).ok();
    let seen = standin.seen().pop().unwrap();
    assert_eq!(seen.client_id, CLIENT_ID);
    assert_eq!(seen.client_secret, "amzn1.oa2-cs.v1.s3cr3t with spaces");
    assert_eq!(seen.refresh_token, "Atzr|IwEBIold-script-token");
    let row = &env.profiles_json()[0];
    assert_eq!(row["app"], "eu");
    assert_eq!(row["marketplace"], "DE");
}

#[test]
fn delete_source_removes_the_plaintext_and_the_same_client_id_reuses_the_app() {
    let (_standin, env) = standin_env();
    let first = env.path("first.env");
    std::fs::write(&first, OLD_SCRIPT_ENV).unwrap();
    let out = env
        .run(&[
            "import",
            "env",
            first.to_str().unwrap(),
            "--profile",
            "a",
            "--region",
            "eu",
            "--app",
            "shared",
            "--delete-source",
        ])
        .ok();
    assert!(
        out.stdout.contains("Deleted") && out.stdout.contains("git history"),
        "{}",
        out.stdout
    );
    assert!(!first.exists());
    let second = env.path("second.env");
    let python_names = "LWA_APP_ID=amzn1.application-oa2-client.0123456789abcdef0123456789abcdef\nLWA_CLIENT_SECRET='amzn1.oa2-cs.v1.s3cr3t with spaces'\nSP_API_REFRESH_TOKEN=Atzr|second\n";
    std::fs::write(&second, python_names).unwrap();
    env.run(&[
        "import",
        "env",
        second.to_str().unwrap(),
        "--profile",
        "b",
        "--region",
        "na",
    ])
    .ok();
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(apps[0]["app"], "shared");
    assert_eq!(apps[0]["profiles"], 2);
}

/// `vault import env SOURCE --profile x --region eu`.
fn import_x(env: &Env, source: &std::path::Path) -> Out {
    env.run(&[
        "import",
        "env",
        source.to_str().unwrap(),
        "--profile",
        "x",
        "--region",
        "eu",
    ])
}

#[test]
fn imports_are_all_or_nothing() {
    let (_standin, env) = standin_env();
    env.run_stdin(
        &[
            "app",
            "add",
            "main",
            "--client-id",
            "amzn1.application-oa2-client.ffffffffffffffffffffffffffffffff",
            "--application-id",
            APP_ID,
            "--client-secret-stdin",
        ],
        "amzn1.oa2-cs.v1.x",
    )
    .ok();
    env.run(&["add-profile", "taken", "--region", "eu"]).ok();
    let before = env.vault_bytes();
    let source = env.path(".env");
    std::fs::write(&source, OLD_SCRIPT_ENV).unwrap();
    // The app would be created, but the profile name is taken: nothing may be written.
    let out = env
        .run(&[
            "import",
            "env",
            source.to_str().unwrap(),
            "--profile",
            "taken",
            "--region",
            "eu",
            "--delete-source",
        ])
        .expect_code(2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(env.vault_bytes(), before);
    assert!(source.exists(), "a failed import deletes nothing");

    std::fs::write(
        &source,
        "AMAZON_CLIENT_ID=a\nLWA_CLIENT_ID=b\nAMAZON_CLIENT_SECRET=s\n",
    )
    .unwrap();
    let out = import_x(&env, &source).expect_code(2);
    assert!(
        out.stderr.contains("two different client ids"),
        "{}",
        out.stderr
    );
    std::fs::write(&source, "AMAZON_REFRESH_TOKEN=Atzr|x\n").unwrap();
    import_x(&env, &source).expect_code(2);
    std::fs::write(&source, "AMAZON_CLIENT_SECRET=\"unterminated Atzr|secret\n").unwrap();
    let out = import_x(&env, &source).expect_code(2);
    assert!(
        !out.stderr.contains("Atzr|secret"),
        "a parse error quoted the file: {}",
        out.stderr
    );
    assert_eq!(env.vault_bytes(), before);
}

#[test]
fn python_sp_api_credentials_become_one_profile_per_section() {
    let (standin, env) = standin_env();
    let yml = env.path("credentials.yml");
    std::fs::write(
        &yml,
        format!(
            "version: '1.0'\ndefault:\n  refresh_token: 'Atzr|IwEBIold-script-token'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.s3cr3t with spaces'\nsecond_account:\n  refresh_token: 'Atzr|second'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.s3cr3t with spaces'\n"
        ),
    )
    .unwrap();
    env.run(&["import", "python-sp-api", yml.to_str().unwrap()])
        .expect_code(2);
    let out = env.import_yml(&yml, &[]).ok();
    assert!(
        out.stdout.contains("'default'") && out.stdout.contains("'second_account'"),
        "{}",
        out.stdout
    );
    let profiles = env.profiles_json();
    assert_eq!(profiles.as_array().unwrap().len(), 2);
    assert_eq!(
        profiles[0]["app"], profiles[1]["app"],
        "one client id, one app"
    );
    // Each token was proved with one refresh; the access tokens it gave are kept.
    let proved: Vec<String> = standin
        .seen()
        .into_iter()
        .map(|s| s.refresh_token)
        .collect();
    assert_eq!(proved, ["Atzr|IwEBIold-script-token", "Atzr|second"]);
    env.run(&["token", "default"]).ok();
    assert_eq!(standin.requests(), 2, "the proof's access token was cached");
    // The default location is used without a path.
    let config = env.dir.path().join(".config/python-sp-api");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("credentials.yml"), "version: '1.0'\n").unwrap();
    let out = env
        .run(&["import", "python-sp-api", "--region", "eu"])
        .expect_code(2);
    assert!(
        out.stderr.contains(".config/python-sp-api/credentials.yml"),
        "{}",
        out.stderr
    );
}

/// A logged-in profile with a marketplace, for the client checks.
fn client_setup() -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    (standin, env)
}

fn clients_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `vault exec p --preset PRESET -- COMMAND...` in tests/clients and returns the
/// JSON the check script printed.
fn exec_client(env: &Env, standin: &StandIn, preset: &str, command: &[&str]) -> serde_json::Value {
    let mut args = vec!["exec", "p", "--preset", preset, "--"];
    args.extend_from_slice(command);
    let child = env
        .command(&args)
        .current_dir(clients_folder())
        .env("STANDIN_HOST", standin.addr.to_string())
        .env("STANDIN_URL", standin.base_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, "", Duration::from_secs(120)).ok();
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|_| panic!("{}{}", out.stdout, out.stderr))
}

fn assert_library_asked_with_the_vaults_credentials(standin: &StandIn, token: &str) {
    assert_eq!(
        token,
        format!("Atza|standin-{}", standin.issued()),
        "the library got the stand-in's token"
    );
    let seen = standin.seen().pop().unwrap();
    assert_eq!(seen.grant_type, "refresh_token");
    assert_eq!(seen.client_id, CLIENT_ID);
    assert_eq!(seen.client_secret, CLIENT_SECRET);
    assert_eq!(seen.refresh_token, REFRESH_TOKEN);
}

#[test]
fn python_amazon_sp_api_works_with_the_preset() {
    let Some(python) = python_with("sp_api") else {
        return;
    };
    let (standin, env) = client_setup();
    let before = standin.requests();
    let printed = exec_client(
        &env,
        &standin,
        "python-amazon-sp-api",
        &[&python, "check.py"],
    );
    assert_eq!(standin.requests(), before + 1);
    assert_library_asked_with_the_vaults_credentials(
        &standin,
        printed["access_token"].as_str().unwrap(),
    );
    assert_eq!(printed["marketplace_id"], "A1PA6795UKMFR9");
}

fn node_packages_installed() -> bool {
    if !have("node") {
        return false;
    }
    let installed = ["@sp-api-sdk/auth", "amazon-sp-api"]
        .iter()
        .all(|p| clients_folder().join("node_modules").join(p).exists());
    if !installed {
        skip_or_fail("the npm packages in tests/clients are not installed");
    }
    installed
}

#[test]
fn sp_api_sdk_auth_works_with_the_preset() {
    if !node_packages_installed() {
        return;
    }
    let (standin, env) = client_setup();
    let printed = exec_client(
        &env,
        &standin,
        "sp-api-sdk",
        &["node", "-r", "./redirect_https.cjs", "check_sp_api_sdk.cjs"],
    );
    assert_library_asked_with_the_vaults_credentials(
        &standin,
        printed["access_token"].as_str().unwrap(),
    );
}

#[test]
fn amazon_sp_api_works_with_the_preset() {
    if !node_packages_installed() {
        return;
    }
    let (standin, env) = client_setup();
    let printed = exec_client(
        &env,
        &standin,
        "amazon-sp-api",
        &[
            "node",
            "-r",
            "./redirect_https.cjs",
            "check_amazon_sp_api.cjs",
        ],
    );
    assert_library_asked_with_the_vaults_credentials(
        &standin,
        printed["access_token"].as_str().unwrap(),
    );
}

#[test]
fn imports_prove_each_refresh_token_before_storing_anything() {
    let (standin, env) = standin_env();
    let yml = env.path("credentials.yml");
    std::fs::write(
        &yml,
        format!(
            "good:\n  refresh_token: 'Atzr|IwEBIold-script-token'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.s3cr3t with spaces'\nrevoked:\n  refresh_token: 'Atzr|revoked'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.s3cr3t with spaces'\n"
        ),
    )
    .unwrap();
    let before = env.vault_bytes();
    let out = env.import_yml(&yml, &[]).expect_code(6);
    assert!(
        out.stderr.contains("'revoked'") && out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    assert_eq!(env.vault_bytes(), before, "nothing stored");
    assert!(yml.exists(), "the source is kept");
    // Offline: --no-verify stores without asking Amazon.
    let requests = standin.requests();
    env.import_yml(&yml, &["--no-verify"]).ok();
    assert_eq!(standin.requests(), requests, "Amazon was not asked");
    assert_eq!(env.profiles_json().as_array().unwrap().len(), 2);
    // A verified import keeps the access token the proof returned.
    let dotenv = env.path(".env");
    std::fs::write(&dotenv, OLD_SCRIPT_ENV).unwrap();
    env.import_env(&dotenv, "eu").ok();
    let row = env
        .profiles_json()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "eu")
        .cloned()
        .unwrap();
    assert_eq!(row["access_token_status"], "valid");
}

#[test]
fn the_question_to_delete_the_plaintext_file_defaults_to_no() {
    if !have("script") {
        return;
    }
    let (_standin, env) = standin_env();
    let dotenv = env.path(".env");
    std::fs::write(&dotenv, OLD_SCRIPT_ENV).unwrap();
    let mut terminal = Terminal::start(
        &env,
        &[
            "import",
            "env",
            dotenv.to_str().unwrap(),
            "--profile",
            "p",
            "--region",
            "eu",
        ],
    );
    terminal.expect("Delete the plaintext file");
    terminal.expect("[y/N]");
    terminal.type_line("");
    let (status, screen) = terminal.finish();
    assert_eq!(status, 0, "{screen}");
    assert!(dotenv.exists(), "kept: {screen}");
}
