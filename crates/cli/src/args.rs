//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Cellproof: issue and verify EU battery passport credentials.
#[derive(Debug, Parser)]
#[command(name = "cellproof", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an Ed25519 key: private JWK to --out, public JWK to stdout, its RFC 7638
    /// thumbprint (the fingerprint to read out when enrolling it) to stderr.
    Keygen {
        /// Key id.
        #[arg(long)]
        kid: String,
        /// The issuer's DID: the key id becomes the DID URL `{did}#{kid}` (SPEC.md section 1),
        /// so that generic VC-JOSE-COSE verifiers find the key in the issuer's DID document.
        /// Recommended for every new key.
        #[arg(long)]
        did: Option<String>,
        /// Where to write the private JWK (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Write an issuer's `did:web` DID document (SPEC.md sections 1 and 2.2): each key a
    /// `JsonWebKey` listed for assertions, public parts only. Prints where to publish it.
    DidDocument {
        /// The issuer's DID (`did:web:...`).
        #[arg(long)]
        did: String,
        /// The issuer's keys (public or private JWK files; only public parts are written).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Write the document here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Trust lists (SPEC.md section 4).
    #[command(subcommand)]
    TrustList(TrustListCmd),
    /// Build and sign a W3C Bitstring status list from a set of indexes (SPEC.md section 5).
    StatusList(StatusListArgs),
    /// Sign a battery credential and render its QR code (SPEC.md section 2).
    Issue(IssueArgs),
    /// Verify a credential: a QR URL, a plain JWS, an image, or a batch.
    Verify(VerifyArgs),
    /// Full passports (SPEC.md section 3.1).
    #[command(subcommand)]
    Passport(PassportCmd),
    /// Sign an attestation (`ConformityAttestation`, SPEC.md section 3.3) with a certifier key.
    Attest {
        /// The certifier's private JWK.
        #[arg(long)]
        key: PathBuf,
        /// The attestation VC payload (JSON), shaped like reference-attestation.json.
        #[arg(long)]
        claims: PathBuf,
        /// Write the compact JWS here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the base64url SHA-256 of a file's exact bytes: a document's or an attestation's
    /// `hashDigest` (SPEC.md section 3.2).
    Digest {
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Upload passports, attestations and documents to a registry (SPEC.md section 6.2):
    /// documents with a signed `op: "document"` envelope, then attestations, then passport
    /// versions oldest first. Exit 1 when the registry refused any.
    Publish {
        /// The registry's public base URL (the envelope's `aud`), e.g. `https://registry.example`.
        #[arg(long)]
        registry: String,
        /// The private JWK that signs document envelopes (a manufacturer or certifier key).
        #[arg(long)]
        key: PathBuf,
        /// The entity id (DID) the envelope names; default: the issuer of the first passport
        /// or attestation given.
        #[arg(long)]
        iss: Option<String>,
        /// Passport versions and attestations (`vc+jwt`), and documents (any other file).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Sync a registry's trust lists and status lists into a directory with the compact form,
    /// then only deltas (`docs/status-sync.md`); `verify --synced DIR` uses it. Exit 1 when
    /// the registry's data was refused.
    Sync {
        /// The registry's public base URL, e.g. `https://registry.example`.
        #[arg(long)]
        registry: String,
        /// The directory to keep the lists in (created).
        #[arg(long)]
        dir: PathBuf,
        /// Pin an ecosystem root: ECO=JWKFILE (repeatable); its trust list is fetched.
        #[arg(long = "root", value_name = "ECO=JWKFILE", required = true)]
        roots: Vec<String>,
    },
    /// Print every QR code found in each image, with its corner points.
    Decode {
        /// One JSON line per image.
        #[arg(long)]
        json: bool,
        /// Images (PNG, JPEG, WebP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// The child side of `decode` and `verify --image` (`sandbox.rs`): decodes one luma frame
    /// from stdin under resource limits and prints the codes as JSON. Not for people.
    #[command(name = "__decode", hide = true)]
    DecodeChild {
        /// Frame width in pixels.
        width: u32,
        /// Frame height in pixels.
        height: u32,
    },
    /// Inspection reports (SPEC.md section 6.4, `docs/inspection.md`): seal and verify.
    #[command(subcommand)]
    Report(crate::inspect::ReportCmd),
    /// Signed registry requests (SPEC.md section 6.1), e.g. a restricted read (section 6.3).
    #[command(subcommand)]
    Request(crate::inspect::RequestCmd),
    /// A battery's life after its first use (SPEC.md 1.2 section 3.4): record repurposing,
    /// reuse, remanufacturing, waste and recycling on a registry.
    #[command(subcommand)]
    Lifecycle(crate::lifecycle::LifecycleCmd),
    /// Make a demo ecosystem, issue a sample credential, show its QR and verify it.
    Demo {
        /// Also write the demo's keys, lists and QR image to this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PassportCmd {
    /// Sign a passport version; with --prev, fill `metadata.predecessor` and check the version.
    Sign {
        /// The issuer's private JWK.
        #[arg(long)]
        key: PathBuf,
        /// The passport VC payload (JSON), shaped like reference-passport.json.
        #[arg(long)]
        passport: PathBuf,
        /// The previous version's compact JWS (for version 2 and later).
        #[arg(long)]
        prev: Option<PathBuf>,
        /// Signing time for `validFrom` when the payload has none (Unix seconds or RFC 3339).
        #[arg(long)]
        at: Option<String>,
        /// Write the compact JWS here (no trailing newline, so `digest` of the file is its
        /// `hashDigest`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Fetch a battery's passport chain from a registry (SPEC.md 6.2): as of now or, with
    /// --at, as the registry had accepted it then (EN 18222's read by identifier and date).
    /// Prints the chain JSON; exit 1 when the registry holds none (by then).
    Get {
        /// The registry's base URL, e.g. `https://registry.example`.
        #[arg(long)]
        registry: String,
        /// The battery: `01/{gtin}/21/{serial}`, a Digital Link URL or a GS1 element string.
        item: String,
        /// A past time (RFC 3339 or Unix seconds): the chain as accepted then.
        #[arg(long)]
        at: Option<String>,
        /// Write the chain here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustListCmd {
    /// Sign a trust-list payload (JSON) with an ecosystem root key.
    Sign {
        /// The root's private JWK.
        #[arg(long)]
        key: PathBuf,
        /// The payload: {"iss", "eco", "seq", "iat", "exp", "entities", "authorities", "recognizes"}.
        #[arg(long)]
        input: PathBuf,
        /// Write the compact JWS here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct StatusListArgs {
    /// The status authority's private JWK.
    #[arg(long)]
    pub key: PathBuf,
    /// The list URL (`{statusBase}{listId}` plus `-suspension` or `-refresh`).
    #[arg(long)]
    pub id: String,
    /// The status authority DID.
    #[arg(long)]
    pub issuer: String,
    /// The list's purpose.
    #[arg(long, value_enum, default_value_t = PurposeArg::Revocation)]
    pub purpose: PurposeArg,
    /// Indexes to set, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub set: Vec<u64>,
    /// A file of indexes to set, one per line.
    #[arg(long)]
    pub set_file: Option<PathBuf>,
    /// Number of entries (at least 131072).
    #[arg(long, default_value_t = 131_072)]
    pub entries: u64,
    /// Issue time (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Seconds until validUntil.
    #[arg(long, default_value_t = 86_400)]
    pub valid_for: u64,
    /// Cache lifetime in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    pub ttl: u64,
    /// Write the compact JWS here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    Revocation,
    Suspension,
    Refresh,
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The issuer's private JWK.
    #[arg(long)]
    pub key: PathBuf,
    /// Claims file shaped like reference-claims.json (claims plus `url`).
    #[arg(long)]
    pub claims: PathBuf,
    /// Write the QR code here (.svg or .png).
    #[arg(long)]
    pub qr: Option<PathBuf>,
    /// Error-correction level.
    #[arg(long, value_enum, default_value_t = EccArg::M)]
    pub ecc: EccArg,
    /// Signing time (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print JSON with the URL, JWS, QR version and ECC level.
    #[arg(long)]
    pub json: bool,
    /// Version 1 of the full passport (compact JWS file): fills `bp.dig`.
    #[arg(long)]
    pub passport: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EccArg {
    L,
    M,
    Q,
    H,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A QR URL, a plain compact JWS, or a numeric fragment.
    #[arg(conflicts_with_all = ["image", "batch"], required_unless_present_any = ["image", "batch"])]
    pub input: Option<String>,
    /// Decode the QR code from an image (PNG, JPEG, WebP) and verify it.
    #[arg(long, conflicts_with = "batch")]
    pub image: Option<PathBuf>,
    /// Verify every line of FILE (`-` for stdin) with batch signature verification.
    #[arg(long)]
    pub batch: Option<PathBuf>,
    /// Pinned ecosystem root, ECO=JWKFILE (repeatable).
    #[arg(long = "root", value_name = "ECO=JWKFILE")]
    pub roots: Vec<String>,
    /// A trust list (compact JWS file; repeatable).
    #[arg(long = "trust-list")]
    pub trust_lists: Vec<PathBuf>,
    /// A status list (compact JWS file; repeatable).
    #[arg(long = "status-list")]
    pub status_lists: Vec<PathBuf>,
    /// A directory kept by `cellproof sync` (its trust lists and compact status lists).
    #[arg(long)]
    pub synced: Option<PathBuf>,
    /// Validation time (Unix seconds or RFC 3339); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// The passport chain as the registry serves it (`{"versions": [...], "attestations":
    /// {...}}`): checks the passport and its attestations.
    #[arg(long, conflicts_with = "batch")]
    pub passport: Option<PathBuf>,
    /// A document to check against the digests the passport's links give (repeatable).
    #[arg(long = "document", requires = "passport")]
    pub documents: Vec<PathBuf>,
    /// Resolve the label online (SPEC.md section 2.2): ask its own URL, or for an element
    /// string each `--resolver`, for the linkset, then fetch the passport (or its chain) it
    /// links and verify that. Says where it asked.
    #[arg(long, conflicts_with_all = ["batch", "passport"])]
    pub resolve: bool,
    /// A resolver root for element strings, e.g. `https://id.gs1.org` (repeatable, asked in
    /// order). Default: the registry `--synced DIR` was synced from, then `https://id.gs1.org`.
    #[arg(long = "resolver", value_name = "URL", requires = "resolve")]
    pub resolvers: Vec<String>,
    /// Allow plain http to loopback (127.0.0.1, ::1, localhost) while resolving, for tests and
    /// demos; everything else stays https only.
    #[arg(long, requires = "resolve")]
    pub insecure_loopback: bool,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    /// Batch output format.
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    pub format: BatchFormat,
    /// Batch output file (default stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BatchFormat {
    Jsonl,
    Csv,
}
