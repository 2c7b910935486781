//! Certificates made with rcgen for the suites of this crate (the helpers
//! shared with other crates' suites are in `mpc-test-support`).
#![allow(dead_code, unreachable_pub)]

use mpc_http::TlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA and a certificate per party, as PEM.
pub struct Pki {
    pub ca_pem: String,
    pub parties: Vec<(String, String, String)>, // name, cert, key
}

impl Pki {
    pub fn new(ca_name: &str, names: &[&str]) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, ca_name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let parties = names
            .iter()
            .map(|n| {
                let key = KeyPair::generate().unwrap();
                let mut p =
                    CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                        .unwrap();
                p.distinguished_name.push(DnType::CommonName, *n);
                p.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
                let cert = p.signed_by(&key, &issuer).unwrap();
                (n.to_string(), cert.pem(), key.serialize_pem())
            })
            .collect();
        Pki {
            ca_pem: ca_cert.pem(),
            parties,
        }
    }

    pub fn party(&self, name: &str) -> &(String, String, String) {
        self.parties.iter().find(|p| p.0 == name).unwrap()
    }

    /// TLS settings of `name`, trusting this CA, identifying peers by CN.
    pub fn tls(&self, name: &str) -> TlsConfig {
        let (_, cert, key) = self.party(name);
        TlsConfig::from_pem(key.as_bytes(), cert.as_bytes(), self.ca_pem.as_bytes()).unwrap()
    }

    /// As [`Pki::tls`], with every other party's certificate pinned.
    pub fn tls_pinned(&self, name: &str) -> TlsConfig {
        let mut t = self.tls(name);
        for (n, cert, _) in &self.parties {
            if n != name {
                t = t.peer_certificate_pem(n.clone(), cert.as_bytes()).unwrap();
            }
        }
        t
    }
}
