//! Every command and flag of `vault`, with examples in the help.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use jiff::SignedDuration;

use crate::duration;
use crate::export::{Format, Preset};
use crate::spapi::Region;
use crate::vault::model;

#[derive(Debug, Parser)]
#[command(
    name = "vault",
    version,
    about = "An encrypted vault for Amazon SP-API credentials, and the whole token lifecycle",
    after_help = ROOT_EXAMPLES,
    after_long_help = format!("{}\n{ROOT_EXAMPLES}", crate::reference::help_text())
)]
pub struct Cli {
    /// The vault file [default: $SPVAULT_FILE, else vault.toml in the platform data folder]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH"
    )]
    pub vault: Option<PathBuf>,

    /// Keep the vault in OpenBao instead: bao://HOST:PORT/MOUNT/PATH (bao+http:// for loopback) [default: $SPVAULT_STORE]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "STORE"
    )]
    pub store: Option<String>,

    /// A PEM CA certificate to trust for the OpenBao server (private CAs)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub ca_cert: Option<PathBuf>,

    /// Open the vault with this age identity file instead of the passphrase [default: $SPVAULT_IDENTITY_FILE]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "FILE"
    )]
    pub identity: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The variable behind `--min-valid`, which clap would report as the flag.
pub const MIN_VALID_VAR: &str = "SPVAULT_MIN_VALID";

/// `vault -h`'s epilogue; `vault --help` (and the manual) add the environment, exit
/// statuses and files.
pub const ROOT_EXAMPLES: &str = "Examples:\n  vault app add my-app --client-id amzn1.application-oa2-client.... \\\n      --application-id amzn1.sp.solution....\n  vault add-profile eu-seller --region eu --marketplace DE\n  vault login eu-seller --refresh-token-stdin < token.txt\n  eval \"$(vault env eu-seller)\"\n  vault exec eu-seller -- python3 report.py\n  vault list";

/// For a bad `--min-valid` that came from `SPVAULT_MIN_VALID` (no such flag in
/// `args`), the error naming the variable instead of the flag.
pub fn bad_variable(error: &clap::Error, args: &[OsString]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let about_min_valid = matches!(
        error.get(ContextKind::InvalidArg),
        Some(ContextValue::String(arg)) if arg.starts_with("--min-valid")
    );
    let from_flag = args
        .iter()
        .any(|a| a.to_string_lossy().starts_with("--min-valid"));
    if error.kind() != ErrorKind::ValueValidation || !about_min_valid || from_flag {
        return None;
    }
    let value = std::env::var(MIN_VALID_VAR).unwrap_or_default();
    let why = parse_min_valid(&value).err().unwrap_or_default();
    Some(format!("{MIN_VALID_VAR}: {why}"))
}

/// For `vault exec PROFILE COMMAND…` without `--` (aws-vault's habit), the same
/// command line with `--` where it belongs.
pub fn exec_without_separator(args: &[OsString]) -> Option<String> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let exec = words.iter().position(|w| w == "exec")?;
    if words.iter().any(|w| w == "--") {
        return None;
    }
    // Flags of exec that take a value: their value is no profile.
    const VALUED: [&str; 6] = [
        "--preset",
        "--min-valid",
        "--vault",
        "--store",
        "--ca-cert",
        "--identity",
    ];
    let mut index = exec + 1;
    while index < words.len() && words[index].starts_with('-') {
        index += if VALUED.contains(&words[index].as_str()) {
            2
        } else {
            1
        };
    }
    if index + 1 >= words.len() {
        return None;
    }
    let mut line = vec!["vault".to_owned()];
    line.extend(words[1..=index].iter().cloned());
    line.push("--".into());
    line.extend(words[index + 1..].iter().cloned());
    Some(line.join(" "))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty vault (asks for the new passphrase twice)
    #[command(after_help = "Example:\n  vault init --kdf-memory-mib 512")]
    Init(InitArgs),

    /// Change the vault's passphrase (new salt; the old passphrase stops working)
    #[command(
        after_help = "The new passphrase comes from SPVAULT_NEW_PASSPHRASE, else a prompt asked twice."
    )]
    Passwd {
        #[command(flatten)]
        kdf: KdfOverride,
        #[command(flatten)]
        damaged: DropDamaged,
    },

    /// Manage apps: LWA client credentials shared by profiles
    #[command(subcommand)]
    App(AppCommand),

    /// Add a profile: one seller or vendor authorization
    #[command(
        after_help = "Examples:\n  vault add-profile eu-seller --region eu --marketplace DE\n  vault add-profile us-vendor --app my-app --region na --vendor\n  vault add-profile eu-seller  # on a terminal: asks for everything"
    )]
    AddProfile(AddProfileArgs),

    /// List every profile and what expires when (no network access)
    List(TableArgs),

    /// Show one profile (never its secrets)
    Show {
        /// The profile's name
        profile: String,
        #[command(flatten)]
        json: JsonFlag,
    },

    /// Remove a profile and its tokens (asks first on a terminal; --yes in scripts)
    Remove {
        /// The profile's name
        profile: String,
        /// Do not ask (needed where there is no terminal to ask)
        #[arg(long, short)]
        yes: bool,
    },

    /// Change a profile's app, region, marketplace, kind or endpoint
    #[command(
        after_help = "A new marketplace in the same region, --vendor/--seller and --sandbox/--production keep the\nauthorization. Another app or region makes the refresh token useless: it is dropped (asked\nfirst on a terminal; --yes in scripts) and the profile needs `vault login` again.\n\nExamples:\n  vault edit-profile eu-seller --marketplace FR\n  vault edit-profile eu-seller --sandbox\n  vault edit-profile old-na --region eu --marketplace DE --yes"
    )]
    EditProfile(EditProfileArgs),

    /// Rename a profile
    Rename {
        /// The profile's current name
        old: String,
        /// Its new name
        new: String,
    },

    /// Authorize a profile and store its refresh token
    #[command(
        after_help = "Examples:\n  vault login eu-seller                  # the consent page in the browser\n  vault login eu-seller --no-browser     # prints the consent address (SSH)\n  vault login eu-seller --listen 8749    # with docs/oauth-relay.html hosted\n  vault login eu-seller --self-authorized  # the token Seller Central shows\n  vault login eu-seller --refresh-token-stdin < token.txt\nSee docs/login.md."
    )]
    Login(LoginArgs),

    /// Refresh access tokens now, several profiles at once
    #[command(
        after_help = "Examples:\n  vault refresh --all\n  vault refresh eu-seller us-seller --force"
    )]
    Refresh(RefreshArgs),

    /// Print a valid access token, and nothing else
    #[command(
        after_help = "Example:\n  curl -H \"x-amz-access-token: $(vault token eu-seller)\" \\\n      \"$SP_API_ENDPOINT/sellers/v1/marketplaceParticipations\""
    )]
    Token {
        /// The profile's name
        profile: String,
        /// A grantless (client-credentials) token for these scopes instead: notifications, client-credential-rotation, or a full sellingpartnerapi:: scope
        #[arg(long, value_name = "SCOPE", value_delimiter = ',')]
        grantless: Vec<String>,
        #[command(flatten)]
        freshness: Freshness,
    },

    /// Print a Restricted Data Token for calls that return personal data
    #[command(
        after_help = "Examples:\n  vault rdt eu-seller --resource 'GET /orders/v0/orders' --data-elements \\\n      buyerInfo,shippingAddress\n  vault rdt eu-seller --json \\\n      --resource 'GET /orders/v0/orders/{orderId}/address'"
    )]
    Rdt(RdtArgs),

    /// Call SP-API as a profile and print the answer (RDTs, usage plans, pages handled)
    #[command(
        after_help = "Exits 6 when Amazon refuses the token (401/403), 7 when it cannot be reached or still throttles after --max-wait, 1 for another 4xx or a next-page token spvault cannot send back, 2 for an unknown operation or a missing parameter. See README, \"Calling SP-API\".\nExamples:\n  vault api eu-seller getMarketplaceParticipations\n  vault api eu-seller ordersV0.getOrders MarketplaceIds=A1PA6795UKMFR9 \\\n      CreatedAfter=2026-11-01T00:00:00Z --paginate --jq '.payload.Orders[]'\n  vault api eu-seller getOrderAddress orderId=302-1234567-1234567\n  vault api eu-seller /reports/2021-06-30/reports --body report.json\n  vault api --list orders"
    )]
    Api(ApiArgs),

    /// Exit non-zero when credentials need attention (for cron and monitoring)
    #[command(
        after_help = "Fails (exit 6) when an app's client secret expires within --within, a profile has no refresh token, or a profile's last refresh was rejected. With --online, also when Amazon refuses a profile's calls, or its marketplace is not among those it participates in (exit 7 when Amazon could not be reached).\nExamples:\n  vault check --within 30d || mail -s 'spvault needs attention' me@example.com\n  vault check --online eu-seller --json"
    )]
    Check(CheckArgs),

    /// Print variables with a valid access token, quoted for a shell or file
    #[command(
        after_help = "Examples:\n  eval \"$(vault env eu-seller)\"\n  vault env eu-seller --format fish | source\n  vault env eu-seller --preset python-amazon-sp-api --format dotenv"
    )]
    Env(EnvArgs),

    /// Run a command with a valid access token (and more) in its environment
    #[command(
        after_help = "Example:\n  vault exec eu-seller --preset python-amazon-sp-api -- python3 report.py"
    )]
    Exec(ExecArgs),

    /// Type the passphrase once: an agent keeps the key until idle or too old
    #[command(
        after_help = "Examples:\n  vault unlock  # 15 minutes idle, 12 hours at most\n  vault unlock --timeout 1h --max-lifetime 8h"
    )]
    Unlock(UnlockArgs),

    /// Forget the unlocked key now
    Lock,

    /// Whether the vault is unlocked, and for how long (does not extend it)
    Status(JsonFlag),

    /// Run the unlock agent (for systemd or launchd: `vault agent --foreground`)
    #[command(
        after_help = "vault unlock starts an agent by itself; run one yourself only under a service manager. See README, \"Sessions\"."
    )]
    Agent {
        /// Stay in the foreground (for service managers) instead of detaching
        #[arg(long)]
        foreground: bool,
        /// End once the key is forgotten (how `vault unlock` starts it)
        #[arg(long, hide = true)]
        exit_when_locked: bool,
        /// Also send each access log entry to the system log
        #[arg(long)]
        syslog: bool,
    },

    /// Show the access log: who got which credential, when [default: the last 7 days]
    #[command(
        after_help = "Examples:\n  vault audit --since 30d --profile eu-seller\n  vault audit --event token --json\n  vault audit verify\n  vault audit off\nThe log is PATH.audit beside the vault file (SPVAULT_AUDIT_LOG for another\npath). See README, \"Access log\"."
    )]
    Audit(AuditArgs),

    /// Copy the vault, still encrypted, to another store: a bao:// secret or a file
    #[command(
        after_help = "Examples:\n  vault migrate --to bao://bao.example.com:8200/secret/spvault\n  vault --store bao://bao.example.com:8200/secret/spvault migrate --to \\\n      ~/vault-copy.toml"
    )]
    Migrate {
        /// Where to copy it: bao://HOST:PORT/MOUNT/PATH, bao+http://... (loopback) or a file path
        #[arg(long, value_name = "STORE")]
        to: String,
    },

    /// Serve fresh access tokens to local services over HTTP (GET /token/PROFILE)
    #[command(
        after_help = "Examples:\n  vault serve eu-seller us-seller --listen 127.0.0.1:8750 --key-file \\\n      ~/.config/spvault/serve.key\n  curl -H \"Authorization: Bearer $(cat ~/.config/spvault/serve.key)\" \\\n      http://127.0.0.1:8750/token/eu-seller"
    )]
    Serve(ServeArgs),

    /// Serve SP-API to any program with no credential in it: tokens, RDTs and usage plans handled
    #[command(
        after_help = "Programs use http://127.0.0.1:8751/PROFILE as their SP-API endpoint and the key as their access token (or as their LWA refresh token, with http://127.0.0.1:8751/auth/o2/token as the LWA endpoint). See README, \"Proxy\".\nExamples:\n  vault proxy eu-seller --key-file ~/.config/spvault/proxy.key\n  curl -H \"x-amz-access-token: $(cat ~/.config/spvault/proxy.key)\" \\\n      http://127.0.0.1:8751/eu-seller/sellers/v1/marketplaceParticipations"
    )]
    Proxy(ProxyArgs),

    /// Manage the age recipients the vault is also encrypted to (teammates, servers, backups)
    #[command(subcommand)]
    Recipients(RecipientsCommand),

    /// Make age identities for machines that open the vault without a passphrase
    #[command(subcommand)]
    Identity(IdentityCommand),

    /// Move credentials in from plaintext files
    #[command(subcommand)]
    Import(ImportCommand),

    /// Print the manual page (roff), or write one page per command to a folder
    #[command(
        after_help = "Examples:\n  vault man | man -l -\n  vault man --dir ~/.local/share/man/man1"
    )]
    Man {
        /// Write vault.1 and one page per subcommand (vault-app-add.1, ...) here
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },

    /// Print shell completions
    #[command(
        after_help = "Example:\n  vault completions bash > ~/.local/share/bash-completion/completions/vault"
    )]
    Completions {
        /// The shell to print completions for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an app; the client secret comes from a no-echo prompt or stdin
    #[command(
        after_help = "Example:\n  vault app add my-app --client-id amzn1.application-oa2-client.0123 \\\n      --application-id amzn1.sp.solution.0123 --client-secret-stdin \\\n      --expires 2027-05-01 < secret.txt"
    )]
    Add(AppAddArgs),

    /// Replace an app's client secret (prompt, --stdin, or a rotation notification)
    #[command(
        after_help = "Examples:\n  vault app set-secret my-app --stdin --expires 2027-05-01 < secret.txt\n  vault app set-secret my-app --from-notification < notification.json"
    )]
    SetSecret {
        /// The app's name
        app: String,
        /// Read the secret from stdin instead of a prompt
        #[arg(long, conflicts_with = "from_notification")]
        stdin: bool,
        /// Read an APPLICATION_OAUTH_CLIENT_NEW_SECRET notification (or its payload) from stdin; the old secret stays usable until it expires
        #[arg(long, conflicts_with = "expires")]
        from_notification: bool,
        #[command(flatten)]
        expiry: SecretExpiry,
    },

    /// Change an app's application id, redirect URI, draft state, secret expiry or notification queue
    #[command(
        after_help = "Examples:\n  vault app edit my-app --application-id amzn1.sp.solution.0123\n  vault app edit my-app --redirect-uri https://example.com/spvault.html \\\n      --published\n  vault app edit my-app --secret-expires 2027-05-01\n  vault app edit my-app --notification-queue \\\n      https://sqs.us-east-1.amazonaws.com/123456789012/spapi-secrets"
    )]
    Edit(AppEditArgs),

    /// Start a client-secret rotation at Amazon (the new secret arrives by notification)
    #[command(
        after_help = "Examples:\n  vault app rotate-secret my-app --wait\n  vault app rotate-secret my-app"
    )]
    RotateSecret {
        /// The app's name
        app: String,
        /// The region whose endpoint to call [default: na, where Amazon's model puts the
        /// Application Management API]
        #[arg(long, value_parser = parse_region)]
        region: Option<Region>,
        /// Wait on the app's notification queue for the new secret, prove it and store it
        #[arg(long)]
        wait: bool,
        /// How long --wait waits for the new secret
        #[arg(long, requires = "wait", default_value = "15m", value_name = "DURATION", value_parser = duration::parse)]
        timeout: std::time::Duration,
    },

    /// Handle the secret notifications on the apps' SQS queues: record expiries, store new secrets
    #[command(
        after_help = "Examples:\n  vault app watch --once\n  vault app watch my-app --rotate-within 30d\nAWS credentials come from the standard chain: AWS_ACCESS_KEY_ID, AWS_PROFILE,\ncontainer or instance credentials (README, \"Secret rotation\")."
    )]
    Watch(AppWatchArgs),

    /// List apps (never their secrets)
    List(TableArgs),

    /// Remove an app no profile uses
    Remove {
        /// The app's name
        app: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The profiles to serve
    #[arg(required = true)]
    pub profiles: Vec<String>,
    /// Address to listen on: loopback, or any address together with --tls-cert and --tls-key
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The profiles to proxy: requests to /PROFILE/... go to that profile's SP-API host
    #[arg(required = true)]
    pub profiles: Vec<String>,
    /// Address to listen on: loopback, or any address together with --tls-cert and --tls-key
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8751")]
    pub listen: std::net::SocketAddr,
    /// How long a request may wait its turn in its operation's usage plan before a 429
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = duration::parse)]
    pub max_wait: std::time::Duration,
    /// Keep the usage-plan buckets in this Redis, shared with other proxies
    #[arg(long, value_name = "redis://HOST:PORT/DB")]
    pub shared_limits: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// What `vault serve` and `vault proxy` share.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Write the bearer key here (0600) instead of printing it
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// PEM certificate chain, for a non-loopback --listen
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key, for a non-loopback --listen
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refresh tokens in the background when they have less than this left
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = duration::parse_arg)]
    pub refresh_ahead: SignedDuration,
    /// Threads answering requests
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Close a connection whose request (or TLS handshake) takes longer than this, or
    /// that stays idle this long
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration::parse)]
    pub client_timeout: std::time::Duration,
    /// Also send each access log entry to the system log
    #[arg(long)]
    pub syslog: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    /// Only entries newer than this
    #[arg(long, default_value = "7d", value_name = "DURATION", value_parser = duration::parse)]
    pub since: std::time::Duration,
    /// Only entries about this profile
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Only entries of this event (token, env, exec, api, rdt, serve, proxy, login, ...)
    #[arg(long, value_name = "EVENT", hide_possible_values = true)]
    pub event: Option<crate::audit::Event>,
    /// Print JSON (one array of entries) instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the log's MAC chain and that nothing was cut off since the last vault write
    Verify,
    /// Turn the log on (proves the passphrase)
    On {
        /// Prune rotated log files whose entries are all older than this
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        keep: Option<std::time::Duration>,
    },
    /// Turn the log off (proves the passphrase; this is logged)
    Off,
}

#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// Encrypt the vault to this age public key too (re-encrypts now)
    #[command(
        after_help = "Example:\n  vault recipients add ci-server \\\n      age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    )]
    Add {
        /// A name for the recipient
        name: String,
        /// Its age public key (age1...)
        public_key: String,
    },
    /// List the recipients
    List(JsonFlag),
    /// Stop encrypting to a recipient (re-encrypts now; rotate what it saw)
    Remove {
        /// The recipient's name
        name: String,
        #[command(flatten)]
        damaged: DropDamaged,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Write a new age identity (0600) and print its public key
    #[command(
        after_help = "Example, on the server, then where the vault is open:\n  vault identity new ~/.config/spvault/server.key\n  vault recipients add server age1..."
    )]
    New {
        /// Where to write it (must not exist)
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a .env file (AMAZON_*, LWA_*, SP_API_*, SELLING_PARTNER_APP_* names) as one profile
    #[command(
        after_help = "Example:\n  vault import env .env --profile eu-seller --region eu --marketplace DE \\\n      --delete-source"
    )]
    Env(ImportEnvArgs),
    /// Import every section of python-amazon-sp-api's credentials.yml as a profile
    #[command(after_help = "Example:\n  vault import python-sp-api --region eu")]
    PythonSpApi {
        /// The file [default: ~/.config/python-sp-api/credentials.yml]
        file: Option<PathBuf>,
        /// The region of every profile [default: asked per section on a terminal]
        #[arg(long, value_parser = parse_region)]
        region: Option<Region>,
        /// Store the refresh tokens without proving each with one refresh (offline)
        #[arg(long)]
        no_verify: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportEnvArgs {
    /// The dotenv file
    pub file: PathBuf,
    /// The profile to create
    #[arg(long)]
    pub profile: String,
    /// The SP-API region: na, eu or fe [default: the --marketplace's]
    #[arg(long, value_parser = parse_region)]
    pub region: Option<Region>,
    /// The app to use or create [default: the app with the file's client id, else one named like the profile]
    #[arg(long)]
    pub app: Option<String>,
    /// Marketplace code or id
    #[arg(long, value_name = "CODE_OR_ID")]
    pub marketplace: Option<String>,
    /// SP-API application id for a new app (needed later for `vault login`'s consent flow)
    #[arg(long, value_name = "ID")]
    pub application_id: Option<String>,
    /// Delete the plaintext file after a successful import, without asking
    #[arg(long)]
    pub delete_source: bool,
    /// Store the refresh token without proving it with one refresh (offline)
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Args)]
pub struct RdtArgs {
    /// The profile's name
    pub profile: String,
    /// A restricted operation, 'METHOD /path' (up to 50)
    #[arg(long = "resource", value_name = "'METHOD /path'", required = true)]
    pub resources: Vec<String>,
    /// Personal data elements for the Orders API paths (buyerInfo, shippingAddress, buyerTaxInformation)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub data_elements: Vec<String>,
    /// Another app (application id) that will use the token
    #[arg(long, value_name = "ID")]
    pub target_application: Option<String>,
    /// Print JSON with the token and its expiry
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub freshness: Freshness,
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The profile's name
    #[arg(required_unless_present = "list")]
    pub profile: Option<String>,
    /// An operation (getOrders, or ordersV0.getOrders where several APIs have one of that name), or its path (/orders/v0/orders, may end in ?query)
    #[arg(value_name = "OPERATION|PATH", required_unless_present = "list", value_parser = OperationOrPath, hide_possible_values = true)]
    pub target: Option<String>,
    /// With an operation: its path parameters, then query parameters (a list: repeat it, or join with commas)
    #[arg(value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// List the operations spvault knows (those whose API, name or path holds FILTER)
    #[arg(long, value_name = "FILTER", num_args = 0..=1, default_missing_value = "", conflicts_with_all = ["profile", "target", "method", "query", "body", "paginate", "include", "data_elements", "jq"])]
    pub list: Option<String>,
    /// With --list, print JSON
    #[arg(long, requires = "list")]
    pub json: bool,
    /// With --list, show every column however narrow the terminal
    #[arg(long, requires = "list")]
    pub wide: bool,
    /// The HTTP method, with a path: GET, POST, PUT, PATCH or DELETE [default: GET, or POST with --body]
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// A query parameter, URL-encoded for you (repeat it for more)
    #[arg(short = 'q', long = "query", value_name = "NAME=VALUE")]
    pub query: Vec<String>,
    /// The JSON request body: a file, or - for stdin
    #[arg(long, value_name = "FILE|-")]
    pub body: Option<PathBuf>,
    /// Follow the next-page token and print each page as one line of JSON
    #[arg(long)]
    pub paginate: bool,
    /// With --paginate, stop after this many pages
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pages: u32,
    /// Filter each answer (each page) with a jq expression; strings print raw
    #[arg(long, value_name = "EXPR")]
    pub jq: Option<String>,
    /// How long one request may wait for the operation's usage plan before exit 7
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration::parse)]
    pub max_wait: std::time::Duration,
    /// Print the status line and response headers to stderr first
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Personal data elements, for the operations that take them (getOrders, getOrder: buyerInfo, shippingAddress, buyerTaxInformation; getOrderItems: buyerInfo)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub data_elements: Vec<String>,
    /// Print the body's control characters as they came, even to a terminal (where
    /// they are shown escaped otherwise; a pipe always gets the bytes as they came)
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub freshness: Freshness,
}

/// `vault api`'s OPERATION|PATH: anything is taken (a path, or an operation name
/// checked when the command runs), and the operation names are offered to shell
/// completions without being listed in `--help`.
#[derive(Clone)]
struct OperationOrPath;

impl clap::builder::TypedValueParser for OperationOrPath {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            crate::api::operations::all()
                .iter()
                .map(|op| clap::builder::PossibleValue::new(op.name())),
        ))
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these profiles (and their apps) [default: all]
    #[arg(value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// How far ahead an expiring client secret counts as a problem
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = duration::parse_arg)]
    pub within: SignedDuration,
    /// Also ask Amazon: each profile's marketplace participations
    #[arg(long)]
    pub online: bool,
    /// With --online, how many profiles to check at once
    #[arg(long, default_value_t = crate::tokens::DEFAULT_CONCURRENCY, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Lock after this long without use
    #[arg(long, default_value = DEFAULT_UNLOCK_TIMEOUT, value_name = "DURATION", value_parser = duration::parse)]
    pub timeout: std::time::Duration,
    /// Lock after this long whatever the use
    #[arg(long, default_value = DEFAULT_UNLOCK_LIFETIME, value_name = "DURATION", value_parser = duration::parse)]
    pub max_lifetime: std::time::Duration,
}

/// `vault unlock`'s defaults, which `vault agent` also names when it starts.
pub const DEFAULT_UNLOCK_TIMEOUT: &str = "15m";
pub const DEFAULT_UNLOCK_LIFETIME: &str = "12h";

#[derive(Debug, Args)]
pub struct AppAddArgs {
    /// A name for the app, used by profiles and commands
    pub name: String,
    /// LWA client id (amzn1.application-oa2-client....)
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// SP-API application id (amzn1.sp.solution.... or amzn1.sellerapps.app....)
    #[arg(long, value_name = "ID")]
    pub application_id: String,
    /// Redirect URI registered for the app, used by `vault login`
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// The app is still in Draft (consent needs version=beta)
    #[arg(long)]
    pub draft: bool,
    /// Read the client secret from stdin instead of a prompt
    #[arg(long)]
    pub client_secret_stdin: bool,
    #[command(flatten)]
    pub expiry: SecretExpiry,
}

#[derive(Debug, Args)]
pub struct AppEditArgs {
    /// The app's name
    pub app: String,
    /// SP-API application id (amzn1.sp.solution....)
    #[arg(long, value_name = "ID")]
    pub application_id: Option<String>,
    /// Redirect URI registered for the app
    #[arg(long, value_name = "URI", conflicts_with = "no_redirect_uri")]
    pub redirect_uri: Option<String>,
    /// Forget the redirect URI
    #[arg(long)]
    pub no_redirect_uri: bool,
    /// The app is in Draft (consent needs version=beta)
    #[arg(long, conflicts_with = "published")]
    pub draft: bool,
    /// The app is published (no longer a draft)
    #[arg(long)]
    pub published: bool,
    /// When the client secret expires, as Developer Central shows it (2027-05-01 or
    /// RFC 3339); the secret itself stays as it is
    #[arg(long, value_name = "DATE")]
    pub secret_expires: Option<String>,
    /// The SQS queue Amazon sends the app's secret notifications to (Developer Console ›
    /// Notification preferences), for `vault app watch`: its URL or ARN
    #[arg(long, value_name = "URL", conflicts_with = "no_notification_queue")]
    pub notification_queue: Option<String>,
    /// Forget the notification queue
    #[arg(long)]
    pub no_notification_queue: bool,
}

#[derive(Debug, Args)]
pub struct AppWatchArgs {
    /// The apps to watch [default: every app with a notification queue]
    pub apps: Vec<String>,
    /// Handle what is on the queues now, then exit (0, or 6 if something needs attention)
    #[arg(long)]
    pub once: bool,
    /// Start a rotation when a secret expiry warning says the secret expires this soon
    #[arg(long, value_name = "DURATION", value_parser = duration::parse_arg)]
    pub rotate_within: Option<SignedDuration>,
}

#[derive(Debug, Args)]
pub struct SecretExpiry {
    /// When the client secret expires (2027-05-01 or RFC 3339), as Developer Central
    /// shows it [default: asked at a terminal; unknown from a script]
    #[arg(long, value_name = "DATE", value_parser = model::parse_date)]
    pub expires: Option<jiff::Timestamp>,
}

#[derive(Debug, Args)]
pub struct EditProfileArgs {
    /// The profile's name
    pub name: String,
    /// Use this app's credentials
    #[arg(long)]
    pub app: Option<String>,
    /// The SP-API region: na, eu or fe
    #[arg(long, value_parser = parse_region)]
    pub region: Option<Region>,
    /// Marketplace code or id (names its region)
    #[arg(long, value_name = "CODE_OR_ID", conflicts_with = "no_marketplace")]
    pub marketplace: Option<String>,
    /// Forget the profile's marketplace
    #[arg(long)]
    pub no_marketplace: bool,
    /// A Vendor Central authorization
    #[arg(long, conflicts_with = "seller")]
    pub vendor: bool,
    /// A Seller Central authorization
    #[arg(long)]
    pub seller: bool,
    /// Use the SP-API sandbox endpoints
    #[arg(long, conflicts_with = "production")]
    pub sandbox: bool,
    /// Use the production endpoints
    #[arg(long)]
    pub production: bool,
    /// Drop the tokens without asking when the change makes them useless
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct AddProfileArgs {
    /// A name for the profile: letters, digits, '.', '_' or '-'
    pub name: String,
    /// The app whose credentials the profile uses [default: the only app]
    #[arg(long)]
    pub app: Option<String>,
    /// The SP-API region: na (Americas), eu (Europe, Middle East, India, Africa), fe (Far
    /// East) [default: the --marketplace's]
    #[arg(long, value_parser = parse_region)]
    pub region: Option<Region>,
    /// Marketplace code (DE, US, ...) or id (A1PA6795UKMFR9, ...)
    #[arg(long, value_name = "CODE_OR_ID")]
    pub marketplace: Option<String>,
    /// A Vendor Central authorization
    #[arg(long)]
    pub vendor: bool,
    /// Use the SP-API sandbox endpoints
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The profile's name
    pub profile: String,
    /// Store a refresh token read from stdin (self-authorization), after proving it works
    #[arg(long, conflicts_with_all = ["self_authorized", "listen", "no_browser"])]
    pub refresh_token_stdin: bool,
    /// Type in a refresh token from Seller or Vendor Central's "Authorize app" (no-echo prompt)
    #[arg(long, conflicts_with_all = ["listen", "no_browser"])]
    pub self_authorized: bool,
    /// Only print the consent address (on stderr), for SSH sessions
    #[arg(long)]
    pub no_browser: bool,
    /// Receive the redirect on 127.0.0.1:PORT (path /callback), forwarded by docs/oauth-relay.html
    #[arg(long, value_name = "PORT")]
    pub listen: Option<u16>,
    /// How long to wait for the authorization
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration::parse)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Profiles to refresh (or --all)
    #[arg(conflicts_with = "all")]
    pub profiles: Vec<String>,
    /// Refresh every profile that has a refresh token
    #[arg(long)]
    pub all: bool,
    /// Refresh even tokens that are still valid
    #[arg(long)]
    pub force: bool,
    /// How many refreshes run at once
    #[arg(long, default_value_t = crate::tokens::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    #[command(flatten)]
    pub freshness: Freshness,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The profile's name
    pub profile: String,
    /// How to print the variables
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    pub format: Format,
    #[command(flatten)]
    pub variables: VariableArgs,
    #[command(flatten)]
    pub freshness: Freshness,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The profile's name
    pub profile: String,
    /// Start a `vault proxy` for the profile on a free loopback port for the command's
    /// lifetime, and give the command its address and key instead of any credential
    #[arg(long, conflicts_with = "with_secrets")]
    pub proxy: bool,
    #[command(flatten)]
    pub variables: VariableArgs,
    #[command(flatten)]
    pub freshness: Freshness,
    /// Hand the command this variable although it opens the vault or its store
    /// (SPVAULT_PASSPHRASE*, SPVAULT_NEW_PASSPHRASE, SPVAULT_IDENTITY_FILE,
    /// SPVAULT_BAO_TOKEN_FILE, BAO_TOKEN, VAULT_TOKEN are withheld otherwise); repeatable
    #[arg(long, value_name = "NAME")]
    pub keep_env: Vec<String>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct VariableArgs {
    /// Also set the variables a client library reads
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Also set LWA_CLIENT_ID, LWA_CLIENT_SECRET and SP_API_REFRESH_TOKEN
    #[arg(long)]
    pub with_secrets: bool,
}

#[derive(Debug, Args)]
pub struct Freshness {
    /// Refresh the access token unless it stays valid at least this long
    #[arg(long, env = MIN_VALID_VAR, default_value = "5m", value_name = "DURATION", value_parser = parse_min_valid)]
    pub min_valid: SignedDuration,
}

/// LWA access tokens last an hour: a margin of an hour or more would refresh on
/// every call and still hand out a token with less left than asked.
fn parse_min_valid(text: &str) -> Result<SignedDuration, String> {
    let margin = duration::parse_arg(text)?;
    if margin >= SignedDuration::from_hours(1) {
        return Err(format!(
            "'{}' is an hour or more, but access tokens last 1 h: every call would refresh; use less, such as 50m",
            text.trim()
        ));
    }
    Ok(margin)
}

impl Freshness {
    /// The default of `--min-valid`, for commands without the flag.
    pub const DEFAULT_MIN_VALID: SignedDuration = SignedDuration::from_mins(5);
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// Print JSON instead of a table
    #[arg(long, conflicts_with = "wide")]
    pub json: bool,
    /// Show every column, however narrow the terminal (from 140 columns on, all are
    /// shown anyway)
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// Start without the access log (`vault audit on` turns it on later)
    #[arg(long)]
    pub no_audit: bool,
}

#[derive(Debug, Args)]
pub struct KdfArgs {
    /// Argon2id memory in MiB (at least 8)
    #[arg(long, value_name = "N", default_value_t = crate::vault::crypto::KdfParams::DEFAULT.memory_kib / 1024)]
    pub kdf_memory_mib: u32,
    /// Argon2id passes
    #[arg(long, value_name = "N", default_value_t = crate::vault::crypto::KdfParams::DEFAULT.iterations)]
    pub kdf_iterations: u32,
    /// Argon2id lanes
    #[arg(long, value_name = "N", default_value_t = crate::vault::crypto::KdfParams::DEFAULT.parallelism)]
    pub kdf_parallelism: u32,
}

/// For commands that re-encrypt every profile's record, which a damaged one prevents.
#[derive(Debug, Args)]
pub struct DropDamaged {
    /// Drop the profiles whose records are damaged (they cannot be re-encrypted) instead of refusing
    #[arg(long)]
    pub drop_damaged: bool,
}

#[derive(Debug, Args)]
pub struct KdfOverride {
    /// New Argon2id memory in MiB [default: unchanged]
    #[arg(long, value_name = "N")]
    pub kdf_memory_mib: Option<u32>,
    /// New Argon2id passes [default: unchanged]
    #[arg(long, value_name = "N")]
    pub kdf_iterations: Option<u32>,
    /// New Argon2id lanes [default: unchanged]
    #[arg(long, value_name = "N")]
    pub kdf_parallelism: Option<u32>,
}

/// A region flag: `na`, `eu` or `fe` in any case, and `us` for `na`.
fn parse_region(text: &str) -> Result<Region, String> {
    text.parse()
}

/// `--format`'s values: the formats themselves are `export`'s, which knows no clap.
impl clap::ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Format::Sh,
            Format::Fish,
            Format::Powershell,
            Format::Dotenv,
            Format::Json,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Powershell => "powershell",
            Format::Dotenv => "dotenv",
            Format::Json => "json",
        }))
    }
}

/// `--preset`'s values, with the variables each sets as their help.
impl clap::ValueEnum for Preset {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Preset::PythonAmazonSpApi,
            Preset::AmazonSpApi,
            Preset::SpApiSdk,
            Preset::DotenvAmazon,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let (name, help) = match self {
            Preset::PythonAmazonSpApi => (
                "python-amazon-sp-api",
                "python-amazon-sp-api (PyPI): LWA_APP_ID, LWA_CLIENT_SECRET, SP_API_REFRESH_TOKEN, SP_API_DEFAULT_MARKETPLACE",
            ),
            Preset::AmazonSpApi => (
                "amazon-sp-api",
                "amazon-sp-api (npm): SELLING_PARTNER_APP_CLIENT_ID, SELLING_PARTNER_APP_CLIENT_SECRET, SP_API_REFRESH_TOKEN",
            ),
            Preset::SpApiSdk => (
                "sp-api-sdk",
                "@sp-api-sdk/auth (npm): LWA_CLIENT_ID, LWA_CLIENT_SECRET, LWA_REFRESH_TOKEN",
            ),
            Preset::DotenvAmazon => (
                "dotenv-amazon",
                "the plaintext .env token scripts: AMAZON_CLIENT_ID, AMAZON_CLIENT_SECRET, AMAZON_REFRESH_TOKEN, AMAZON_ACCESS_TOKEN",
            ),
        };
        Some(clap::builder::PossibleValue::new(name).help(help))
    }
}
