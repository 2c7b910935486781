//! Mutual TLS between parties, compatible with `tno.mpc.communication` 5.x.
//!
//! Every party has a private key, a certificate (chain) and a CA bundle. A
//! connection in either direction is mutual TLS 1.3: the server requires a
//! client certificate, and both sides verify the other's chain against their
//! own CA bundle. Host names are never checked; parties are identified by
//! their certificate:
//!
//! * a peer with a pinned certificate ([`TlsConfig::peer_certificate_file`])
//!   must present exactly that certificate (byte-identical DER);
//! * a peer without one must present an X.509 v3 certificate whose subject
//!   common name (CN) equals the peer's name.
//!
//! Chains are verified with rustls-webpki. X.509 version 1 certificates (what
//! the Python package's own tooling makes) are outside what webpki accepts;
//! they are verified by a narrow legacy path (one signature by a CA from the
//! bundle, validity period) and are only ever accepted when pinned.
//!
//! The CA bundle may hold CA certificates only: an X.509 v3 certificate
//! without basicConstraints CA:TRUE, or whose keyUsage lacks keyCertSign, is
//! refused when the bundle is loaded ([`TlsError::NotACaCertificate`]).
//! Names taken from certificates are escaped before they reach logs and
//! error messages. The full policy is in `docs/TLS.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod label;
mod policy;
mod verify;
mod x509;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use label::python_identity;
use label::{describe, subject_label};
use policy::{BuildError, PeerVerifier};
use verify::{ClientAuth, ServerAuth};
use x509::Certificate;

/// The ALPN protocol both sides offer: the exchange is HTTP/1.1 only.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The crypto provider used everywhere in this module: rustls' *ring*
/// provider, passed explicitly (the process-wide default is never used).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Errors building a TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The content of a file is unusable (the wrapped error says why).
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<TlsError>,
    },
    /// PEM input is malformed.
    #[error("malformed PEM in the {what}: {source}")]
    Pem {
        /// Which input ("private key", "certificate chain", "CA bundle", ...).
        what: String,
        /// The PEM error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The key PEM holds no private key (PKCS#8, PKCS#1 or SEC1; encrypted keys are not supported).
    #[error(
        "no private key found in the key PEM (expected PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted)"
    )]
    NoPrivateKey,
    /// A PEM input holds no certificate.
    #[error("no certificate found in the {what}")]
    NoCertificate {
        /// Which input.
        what: String,
    },
    /// A certificate cannot be used.
    #[error("unusable certificate in the {what}: {reason}")]
    InvalidCertificate {
        /// Which input.
        what: String,
        /// Why.
        reason: String,
    },
    /// A certificate of the CA bundle is not a CA certificate: an X.509 v3
    /// certificate without basicConstraints CA:TRUE, or with a keyUsage
    /// extension that does not allow keyCertSign. Every certificate of the
    /// bundle is trusted to sign certificates, so a party's own certificate
    /// there would let that party's key sign a certificate for any name.
    /// Remove it from the bundle; to fix which certificate a peer must
    /// present, pin it ([`TlsConfig::peer_certificate_file`]).
    #[error(
        "{}certificate #{index} of the CA bundle ({subject}, serial {serial}) is not a CA \
         certificate: {reason}; remove it from the CA bundle (to require a peer's own \
         certificate, pin it instead)",
        file_prefix(.path.as_deref())
    )]
    NotACaCertificate {
        /// The CA bundle file, if it was loaded from one.
        path: Option<PathBuf>,
        /// The position of the certificate in the bundle, from 1.
        index: usize,
        /// The certificate's subject common name(s), as `CN=...` (escaped for
        /// display), or `no CN`.
        subject: String,
        /// The certificate's serial number, in decimal.
        serial: String,
        /// Why it is not a CA certificate.
        reason: String,
    },
    /// The private key is not the key of the (first) certificate of the chain.
    #[error("the private key does not belong to the first certificate of the certificate chain")]
    KeyMismatch,
    /// A certificate was pinned twice for the same peer.
    #[error("a certificate for peer {peer:?} is configured twice")]
    DuplicatePeerCertificate {
        /// The peer.
        peer: String,
    },
    /// A certificate is pinned for a name that is not one of the peers.
    #[error("a certificate is pinned for {peer:?}, which is not a configured peer")]
    PinnedCertificateForUnknownPeer {
        /// The name the certificate was pinned for.
        peer: String,
    },
    /// The same certificate is pinned for two peers, so it could not tell them apart.
    #[error("the same certificate is pinned for peers {first:?} and {second:?}")]
    SameCertificateForTwoPeers {
        /// One peer.
        first: String,
        /// The other peer.
        second: String,
    },
    /// The TLS library refused the configuration (unsupported key type, ...).
    #[error("TLS configuration refused: {0}")]
    Config(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// `"<path>: "` for error messages, or nothing.
fn file_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

/// A configuration error of the TLS library, kept opaque so no rustls type
/// appears in the public API.
fn config_error(e: rustls::Error) -> TlsError {
    TlsError::Config(Box::new(e))
}

/// Mutual-TLS settings from PEM (own key, own certificate chain, CA bundle,
/// optional per-peer certificates).
///
/// The `Debug` output names the certificates, never key material.
#[derive(Clone)]
pub struct TlsConfig {
    key: Arc<dyn SigningKey>,
    chain: Vec<CertificateDer<'static>>,
    ca_bundle: Vec<CertificateDer<'static>>,
    pinned: BTreeMap<String, CertificateDer<'static>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let own = self.chain.first().map(|c| describe(c.as_ref()));
        f.debug_struct("TlsConfig")
            .field("key", &"<private key>")
            .field("certificate", &own)
            .field("chain_len", &self.chain.len())
            .field(
                "ca_bundle",
                &self
                    .ca_bundle
                    .iter()
                    .map(|c| describe(c.as_ref()))
                    .collect::<Vec<_>>(),
            )
            .field(
                "pinned",
                &self
                    .pinned
                    .iter()
                    .map(|(peer, c)| (peer.as_str(), describe(c.as_ref())))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn in_file(path: &Path) -> impl FnOnce(TlsError) -> TlsError + '_ {
    move |e| TlsError::File {
        path: path.to_owned(),
        source: Box::new(e),
    }
}

fn load_key(pem_bytes: &[u8], provider: &CryptoProvider) -> Result<Arc<dyn SigningKey>, TlsError> {
    let key = PrivateKeyDer::from_pem_slice(pem_bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey,
        source => TlsError::Pem {
            what: "private key".to_owned(),
            source: Box::new(source),
        },
    })?;
    provider
        .key_provider
        .load_private_key(key)
        .map_err(config_error)
}

/// All certificates in a PEM input, each checked to be a readable X.509 certificate.
fn load_certificates(
    pem_bytes: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what: what.to_owned(),
            source: Box::new(source),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        });
    }
    for cert in &certs {
        check_certificate(cert, what)?;
    }
    Ok(certs)
}

fn check_certificate(cert: &CertificateDer<'_>, what: &str) -> Result<(), TlsError> {
    Certificate::parse(cert.as_ref())
        .map(|_| ())
        .map_err(|e| TlsError::InvalidCertificate {
            what: what.to_owned(),
            reason: e.to_string(),
        })
}

/// Checks that one certificate of the CA bundle (number `index`, from 1)
/// may be a CA: see [`TlsError::NotACaCertificate`].
fn check_ca_certificate(der: &[u8], index: usize, path: Option<&Path>) -> Result<(), TlsError> {
    let cert = Certificate::parse(der).map_err(|e| TlsError::InvalidCertificate {
        what: "CA bundle".to_owned(),
        reason: e.to_string(),
    })?;
    match cert.ca_refusal() {
        None => Ok(()),
        Some(reason) => Err(TlsError::NotACaCertificate {
            path: path.map(Path::to_owned),
            index,
            subject: subject_label(&cert),
            serial: cert.serial_decimal(),
            reason: reason.to_owned(),
        }),
    }
}

/// The certificates of a CA bundle: each must be readable, usable as a
/// trust anchor, and a CA ([`check_ca_certificate`]). `path` is the file
/// it came from, if any, for the error.
fn load_ca_bundle(
    pem_bytes: &[u8],
    path: Option<&Path>,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = load_certificates(pem_bytes, "CA bundle")?;
    check_ca_bundle(&certs, path)?;
    Ok(certs)
}

/// Checks every certificate of a CA bundle: usable as a trust anchor, and a
/// CA ([`check_ca_certificate`]).
fn check_ca_bundle(certs: &[CertificateDer<'_>], path: Option<&Path>) -> Result<(), TlsError> {
    for (index, cert) in certs.iter().enumerate() {
        webpki::anchor_from_trusted_cert(cert).map_err(|e| TlsError::InvalidCertificate {
            what: "CA bundle".to_owned(),
            reason: format!("not usable as a trust anchor: {e:?}"),
        })?;
        check_ca_certificate(cert.as_ref(), index + 1, path)?;
    }
    Ok(())
}

impl TlsConfig {
    /// Loads the own private key, own certificate chain (end-entity first)
    /// and CA bundle from PEM files.
    pub fn from_pem_files(
        key: impl AsRef<Path>,
        cert_chain: impl AsRef<Path>,
        ca_bundle: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let provider = provider();
        let (key, cert_chain, ca_bundle) = (key.as_ref(), cert_chain.as_ref(), ca_bundle.as_ref());
        let key_der = load_key(&read_file(key)?, &provider).map_err(in_file(key))?;
        let chain = load_certificates(&read_file(cert_chain)?, "certificate chain")
            .map_err(in_file(cert_chain))?;
        let ca = load_ca_bundle(&read_file(ca_bundle)?, Some(ca_bundle)).map_err(|e| match e {
            // Names its file itself.
            e @ TlsError::NotACaCertificate { .. } => e,
            e => in_file(ca_bundle)(e),
        })?;
        Self::assemble(key_der, chain, ca)
    }

    /// Loads the own private key, own certificate chain (end-entity first)
    /// and CA bundle from PEM bytes.
    pub fn from_pem(key: &[u8], cert_chain: &[u8], ca_bundle: &[u8]) -> Result<Self, TlsError> {
        let provider = provider();
        let key = load_key(key, &provider)?;
        let chain = load_certificates(cert_chain, "certificate chain")?;
        let ca = load_ca_bundle(ca_bundle, None)?;
        Self::assemble(key, chain, ca)
    }

    fn assemble(
        key: Arc<dyn SigningKey>,
        chain: Vec<CertificateDer<'static>>,
        ca_bundle: Vec<CertificateDer<'static>>,
    ) -> Result<Self, TlsError> {
        let end_entity = chain.first().ok_or_else(|| TlsError::NoCertificate {
            what: "certificate chain".to_owned(),
        })?;
        let parsed =
            Certificate::parse(end_entity.as_ref()).map_err(|e| TlsError::InvalidCertificate {
                what: "certificate chain".to_owned(),
                reason: e.to_string(),
            })?;
        // rustls' own consistency check goes through webpki, which cannot
        // read X.509 v1 certificates; compare the SubjectPublicKeyInfo here.
        if let Some(spki) = key.public_key() {
            if spki.as_ref() != parsed.spki {
                return Err(TlsError::KeyMismatch);
            }
        }
        Ok(Self {
            key,
            chain,
            ca_bundle,
            pinned: BTreeMap::new(),
        })
    }

    /// Pins the certificate the peer named `peer` must present (exact
    /// certificate), read from a PEM file (its first certificate).
    pub fn peer_certificate_file(
        self,
        peer: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let path = path.as_ref();
        let pem_bytes = read_file(path)?;
        let peer = peer.into();
        let cert = Self::first_certificate(&peer, &pem_bytes).map_err(in_file(path))?;
        self.pin(peer, cert)
    }

    /// Pins the certificate the peer named `peer` must present (exact
    /// certificate), from PEM bytes (the first certificate in them).
    pub fn peer_certificate_pem(
        self,
        peer: impl Into<String>,
        pem: &[u8],
    ) -> Result<Self, TlsError> {
        let peer = peer.into();
        let cert = Self::first_certificate(&peer, pem)?;
        self.pin(peer, cert)
    }

    fn first_certificate(
        peer: &str,
        pem_bytes: &[u8],
    ) -> Result<CertificateDer<'static>, TlsError> {
        let what = format!("certificate for peer {peer:?}");
        let cert = CertificateDer::from_pem_slice(pem_bytes).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsError::NoCertificate { what: what.clone() },
            source => TlsError::Pem {
                what: what.clone(),
                source: Box::new(source),
            },
        })?;
        check_certificate(&cert, &what)?;
        Ok(cert)
    }

    fn pin(mut self, peer: String, cert: CertificateDer<'static>) -> Result<Self, TlsError> {
        if self.pinned.contains_key(&peer) {
            return Err(TlsError::DuplicatePeerCertificate { peer });
        }
        self.pinned.insert(peer, cert);
        Ok(self)
    }
}

/// Built once per transport from a [`TlsConfig`] and the list of peer names.
pub(crate) struct TlsSetup {
    verifier: Arc<PeerVerifier>,
    server: Arc<rustls::ServerConfig>,
    clients: HashMap<String, Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSetup")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Builds the server configuration and one client configuration per peer.
    pub(crate) fn new(config: &TlsConfig, peers: &[String]) -> Result<Self, TlsError> {
        let provider = provider();
        let peer_set: BTreeSet<String> = peers.iter().cloned().collect();

        let mut pins: Vec<(String, CertificateDer<'static>)> = Vec::new();
        for (peer, cert) in &config.pinned {
            if !peer_set.contains(peer) {
                return Err(TlsError::PinnedCertificateForUnknownPeer { peer: peer.clone() });
            }
            if let Some((first, _)) = pins.iter().find(|(_, other)| other == cert) {
                return Err(TlsError::SameCertificateForTwoPeers {
                    first: first.clone(),
                    second: peer.clone(),
                });
            }
            pins.push((peer.clone(), cert.clone()));
        }

        let verifier =
            PeerVerifier::new(provider.clone(), &config.ca_bundle, pins, peer_set.clone())
                .map_err(|e| match e {
                    BuildError::BadCa(index, reason) => TlsError::InvalidCertificate {
                        what: format!("CA bundle (certificate #{})", index + 1),
                        reason,
                    },
                })?;
        let verifier = Arc::new(verifier);

        let certified = Arc::new(CertifiedKey::new(config.chain.clone(), config.key.clone()));

        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(config_error)?
            .with_client_cert_verifier(Arc::new(ClientAuth::new(verifier.clone())))
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified.clone())));
        server.alpn_protocols = vec![ALPN_HTTP11.to_vec()];

        let mut clients = HashMap::with_capacity(peer_set.len());
        for peer in &peer_set {
            let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(config_error)?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ServerAuth::new(
                    verifier.clone(),
                    peer.clone(),
                )))
                .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified.clone())));
            client.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
            clients.insert(peer.clone(), Arc::new(client));
        }

        tracing::debug!(
            own = %config.chain.first().map(|c| describe(c.as_ref())).unwrap_or_default(),
            peers = peer_set.len(),
            pinned = config.pinned.len(),
            ca_certificates = config.ca_bundle.len(),
            "TLS set up (TLS 1.3, mutual authentication)"
        );

        Ok(Self {
            verifier,
            server: Arc::new(server),
            clients,
        })
    }

    /// Server side: requires and verifies a client certificate that identifies one of the peers.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server.clone()
    }

    /// Client side towards `peer`: presents our certificate, verifies the server is that peer.
    /// `None` if `peer` is unknown.
    pub(crate) fn client_config(&self, peer: &str) -> Option<Arc<rustls::ClientConfig>> {
        self.clients.get(peer).cloned()
    }

    /// Which peer presented this end-entity certificate (after a completed handshake), if any.
    pub(crate) fn identify(&self, end_entity: &CertificateDer<'_>) -> Option<String> {
        self.verifier.identify(end_entity)
    }
}
