//! The rustls verifier traits, as rustls keeps them apart: [`ClientAuth`]
//! (our server checking a client) and [`ServerAuth`] (our client checking the
//! server of one peer). Both delegate every decision to the certificate
//! policy ([`PeerVerifier::accept`]).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::policy::{PeerVerifier, Presenter};

/// The handshake-signature methods both verifier traits have: TLS 1.2
/// signatures are refused (this transport speaks TLS 1.3 only), TLS 1.3
/// ones are checked with the certificate's key (works for X.509 v1 too).
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(rustls::Error::General(
                "TLS 1.2 handshake signatures are not accepted: this transport speaks TLS 1.3 only"
                    .to_owned(),
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.verifier.verify_tls13(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.verifier.supported_schemes()
        }
    };
}

/// Our server's check of connecting clients: a certificate is mandatory and
/// must identify one of the configured peers.
#[derive(Debug)]
pub(crate) struct ClientAuth {
    verifier: Arc<PeerVerifier>,
}

impl ClientAuth {
    pub(crate) fn new(verifier: Arc<PeerVerifier>) -> Self {
        Self { verifier }
    }
}

impl ClientCertVerifier for ClientAuth {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.verifier.root_hints()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.verifier
            .accept(Presenter::Client, end_entity, intermediates, now, None)
            .map(|_| ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Our client's check of the server of one peer: the certificate must
/// identify exactly that peer. The host name is not checked.
#[derive(Debug)]
pub(crate) struct ServerAuth {
    verifier: Arc<PeerVerifier>,
    peer: String,
}

impl ServerAuth {
    pub(crate) fn new(verifier: Arc<PeerVerifier>, peer: String) -> Self {
        Self { verifier, peer }
    }
}

impl ServerCertVerifier for ServerAuth {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier
            .accept(
                Presenter::Server,
                end_entity,
                intermediates,
                now,
                Some(&self.peer),
            )
            .map(|_| ServerCertVerified::assertion())
    }

    handshake_signatures!();
}
