//! Test PKIs for mutual TLS: one CA and a key and certificate per party
//! (feature `certs`; used by `cargo xtask certs`, the `mpc` tool and tests).
//!
//! Every party certificate is an ECDSA P-256 leaf valid as a TLS server and
//! as a TLS client certificate, with subjectAltNames `localhost`,
//! `127.0.0.1`, `::1` and the party's name, and subject CN = the party's
//! name, so it works with both identity rules of [`crate::tls`] and with the
//! Python package.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use ring::rand::{SecureRandom, SystemRandom};
pub use time::OffsetDateTime;

use crate::tls::{TlsConfig, TlsError};

/// The CA certificate's common name.
pub const CA_COMMON_NAME: &str = "mpc-pool test CA";
/// The organisation name in every certificate.
pub const ORGANIZATION: &str = "mpc-pool (testing only)";

/// Why a PKI could not be generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// rcgen refused (bad name, key generation failed, ...).
    #[error(transparent)]
    Rcgen(#[from] rcgen::Error),
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
}

/// A generated key and certificate, both PEM.
#[derive(Debug)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate's serial number.
    pub serial: SerialNumber,
}

/// The full generated PKI, not yet written anywhere.
#[derive(Debug)]
pub struct Bundle {
    /// The CA.
    pub ca: Issued,
    /// Each party's name, key and certificate.
    pub parties: Vec<(String, Issued)>,
    /// Start of validity of every certificate.
    pub not_before: OffsetDateTime,
    /// End of validity of every certificate.
    pub not_after: OffsetDateTime,
}

/// Generates the CA and one leaf per party, valid from `now - 1 day` to `now + days`.
pub fn generate(parties: &[String], days: u32, now: OffsetDateTime) -> Result<Bundle, CertError> {
    let not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(i64::from(days));
    let mut serials = SerialSource::new();

    // CA: CA:TRUE with pathlen 0 (it signs leaves only), keyCertSign + cRLSign.
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn(CA_COMMON_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_serial = serials.next()?;
    ca_params.serial_number = Some(ca_serial.clone());
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca = Issued {
        cert_pem: ca_cert.pem(),
        key_pem: ca_key.serialize_pem(),
        serial: ca_serial,
    };
    let issuer = Issuer::new(ca_params, ca_key);

    let mut issued = Vec::with_capacity(parties.len());
    for name in parties {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name);
        params.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into()?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            SanType::DnsName(name.as_str().try_into()?),
        ];
        params.is_ca = IsCa::ExplicitNoCa;
        // No keyEncipherment: RFC 8813 forbids it for EC keys (it is an RSA key-transport bit).
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let serial = serials.next()?;
        params.serial_number = Some(serial.clone());
        let cert = params.signed_by(&key, &issuer)?;
        issued.push((
            name.clone(),
            Issued {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
                serial,
            },
        ));
    }

    Ok(Bundle {
        ca,
        parties: issued,
        not_before,
        not_after,
    })
}

fn dn(common_name: &str) -> DistinguishedName {
    // CN first: the Python package reads the *first* attribute of the
    // received certificate's issuer name as its issuer CN.
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn
}

/// Random, positive, non-zero, unique-per-run 128-bit serial numbers.
struct SerialSource {
    rng: SystemRandom,
    used: HashSet<Vec<u8>>,
}

impl SerialSource {
    fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            used: HashSet::new(),
        }
    }

    fn next(&mut self) -> Result<SerialNumber, CertError> {
        loop {
            let mut bytes = [0u8; 16];
            self.rng.fill(&mut bytes).map_err(|_| CertError::Random)?;
            // Top bit clear => positive INTEGER; first byte non-zero => minimal DER, never 0.
            bytes[0] = (bytes[0] & 0x7f).max(1);
            if self.used.insert(bytes.to_vec()) {
                return Ok(SerialNumber::from_slice(&bytes));
            }
        }
    }
}

impl Bundle {
    /// The key and certificate of `party`.
    pub fn party(&self, party: &str) -> Option<&Issued> {
        self.parties
            .iter()
            .find(|(n, _)| n == party)
            .map(|(_, i)| i)
    }

    /// TLS settings for `party`: its key and certificate, this CA; with
    /// `pin_peers`, every other party's certificate pinned.
    pub fn tls_config(&self, party: &str, pin_peers: bool) -> Result<TlsConfig, TlsError> {
        let me = self.party(party).ok_or_else(|| TlsError::NoCertificate {
            what: format!("party {party:?} of this PKI"),
        })?;
        let mut cfg = TlsConfig::from_pem(
            me.key_pem.as_bytes(),
            me.cert_pem.as_bytes(),
            self.ca.cert_pem.as_bytes(),
        )?;
        if pin_peers {
            for (n, i) in &self.parties {
                if n != party {
                    cfg = cfg.peer_certificate_pem(n.clone(), i.cert_pem.as_bytes())?;
                }
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use webpki::{EndEntityCert, KeyUsage};

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn party_certs_chain_to_ca_with_both_ekus_and_sans() {
        let parties = vec!["alice".to_string(), "bob".to_string()];
        let now = OffsetDateTime::now_utc();
        let bundle = generate(&parties, 10, now).unwrap();

        let ca_der = der(&bundle.ca.cert_pem);
        let anchors = [webpki::anchor_from_trusted_cert(&ca_der).unwrap()];
        let secs = |t: OffsetDateTime| {
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.unix_timestamp() as u64))
        };
        let (at, later) = (secs(now), secs(now + time::Duration::days(11)));
        let algs = [webpki::ring::ECDSA_P256_SHA256];

        let mut serials = HashSet::from([bundle.ca.serial.to_bytes()]);
        for (name, issued) in &bundle.parties {
            assert!(serials.insert(issued.serial.to_bytes()), "serials unique");
            assert!(issued.serial.as_ref()[0] & 0x80 == 0, "serial positive");
            // the key is PKCS#8 PEM, P-256, and belongs to the certificate
            assert!(issued.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            let key = KeyPair::from_pem(&issued.key_pem).unwrap();
            assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
            let d = der(&issued.cert_pem);
            assert!(contains(&d, key.public_key_raw()));

            let ee = EndEntityCert::try_from(&d).unwrap();
            for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
                ee.verify_for_usage(&algs, &anchors, &[], at, usage, None, None)
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
            let expired = ee.verify_for_usage(
                &algs,
                &anchors,
                &[],
                later,
                KeyUsage::server_auth(),
                None,
                None,
            );
            assert!(
                expired.is_err(),
                "{name} must expire after the validity days"
            );
            for ok in ["localhost", "127.0.0.1", "::1", name.as_str()] {
                let sn = ServerName::try_from(ok).unwrap();
                ee.verify_is_valid_for_subject_name(&sn)
                    .unwrap_or_else(|e| panic!("{name} not valid for {ok}: {e:?}"));
            }
            let other = if name == "alice" { "bob" } else { "alice" };
            assert!(ee
                .verify_is_valid_for_subject_name(&ServerName::try_from(other).unwrap())
                .is_err());
        }
        // the CA certificate is not usable as a party certificate
        let ca_ee = EndEntityCert::try_from(&ca_der).unwrap();
        assert!(ca_ee
            .verify_for_usage(
                &algs,
                &anchors,
                &[],
                at,
                KeyUsage::server_auth(),
                None,
                None
            )
            .is_err());
    }

    #[test]
    fn the_ca_common_name_comes_first_for_the_python_identity() {
        let bundle = generate(&["alice".to_string()], 1, OffsetDateTime::now_utc()).unwrap();
        let leaf = der(&bundle.parties[0].1.cert_pem);
        let id = crate::tls::python_identity(&leaf).unwrap();
        assert!(id.starts_with(&format!("{CA_COMMON_NAME}:")), "{id}");
    }
}
