//! Untrusted bytes as a certificate a peer presents, and as a certificate of
//! a CA bundle: the DER reader (x509-cert/der), the names and serial, the
//! texts for logs, the CA-bundle check, and the whole verification policy
//! (webpki for v3, the legacy path for v1, identification by pin or CN).
//! Nothing may panic; texts for logs never hold control characters; a
//! certificate is never accepted as a peer it does not identify.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mpc_http::tls::fuzzing::{read_certificate, Verifier};

// The seeds (fuzz/corpus/certificate): the Python package's test set (v1
// party certificate, v3 root and intermediate) and a set from `mpc certs`
// (v3 CA and party certificate).
const PYTHON_ROOT: &[u8] = include_bytes!("../corpus/certificate/seed-v3-root-ca-rsa-python");
const PYTHON_INTERMEDIATE: &[u8] =
    include_bytes!("../corpus/certificate/seed-v3-intermediate-ca-rsa-python");
const PYTHON_PARTY_0: &[u8] = include_bytes!("../corpus/certificate/seed-v1-party-rsa-python");
const MPC_CA: &[u8] = include_bytes!("../corpus/certificate/seed-v3-ca-ecdsa-mpc-certs");
const MPC_ALICE: &[u8] = include_bytes!("../corpus/certificate/seed-v3-party-ecdsa-mpc-certs");

/// A fixed time (2027-01-01) within the validity of every seed.
const NOW: u64 = 1_798_761_600;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::new(
            &[PYTHON_ROOT, PYTHON_INTERMEDIATE, MPC_CA],
            &[("party_0", PYTHON_PARTY_0)],
            &["alice", "bob", "party_0", "party_1"],
        )
        .expect("the seeds make a valid verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    read_certificate(data);
    let verifier = verifier();
    // As the certificate a client, or the server of party_0, presents.
    verifier.check(data, &[], NOW, "party_0");
    // As an intermediate offered with a valid leaf (webpki path building).
    verifier.check(MPC_ALICE, &[data], NOW, "alice");
    // As the only certificate of a CA bundle.
    if let Ok(own) = Verifier::new(&[data], &[], &["alice"]) {
        own.check(MPC_ALICE, &[], NOW, "alice");
        own.check(data, &[], NOW, "alice");
    }
});
