//! X.509 certificates as the TLS module needs them, read with RustCrypto's
//! `x509-cert` and `der` crates.
//!
//! Peer certificates are untrusted input. `x509-cert` decodes the whole
//! certificate (any version: v1, v2 or v3) with `der`'s strict DER rules
//! (definite, minimal lengths; no trailing data; valid times); nothing here
//! indexes into the input itself. On top of that decoding this module
//! keeps:
//!
//! * the exact bytes that signatures and comparisons need (the signed
//!   `tbsCertificate`, the issuer and subject names, the
//!   SubjectPublicKeyInfo), taken with `der`'s reader from the same input;
//! * the common names of issuer and subject, the validity period in Unix
//!   seconds, the serial number in decimal;
//! * whether the certificate may serve as a CA in the trust bundle
//!   ([`Certificate::ca_refusal`]).

use std::fmt;

use x509_cert::der;

use der::asn1::{AnyRef, BitStringRef};
use der::oid::db::rfc4519::CN as OID_COMMON_NAME;
use der::oid::AssociatedOid;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::name::Name;

/// Why a DER input could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DerError {
    /// `der` / `x509-cert` refused the encoding.
    Der(der::Error),
    /// Decodable, but outside what an X.509 certificate may be.
    Invalid(&'static str),
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Der(e) => write!(f, "invalid DER: {e}"),
            Self::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for DerError {}

impl From<der::Error> for DerError {
    fn from(e: der::Error) -> Self {
        Self::Der(e)
    }
}

/// The tag byte of an explicitly tagged version field (`[0] EXPLICIT`).
const VERSION_TAG: u8 = 0xa0;

/// X.509 version as encoded: 0 for v1, 1 for v2, 2 for v3.
pub(crate) const VERSION_3: u8 = 2;

/// The fields of a certificate that the TLS module uses, borrowed from its DER.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Certificate<'a> {
    /// The complete `tbsCertificate` encoding: the signed bytes.
    pub(crate) tbs: &'a [u8],
    /// Encoded version: 0 (v1), 1 (v2) or 2 (v3).
    pub(crate) version: u8,
    /// Contents of the serialNumber INTEGER (two's complement, big-endian).
    pub(crate) serial: &'a [u8],
    /// Contents of the `tbsCertificate.signature` AlgorithmIdentifier.
    pub(crate) tbs_signature_alg: &'a [u8],
    /// The complete issuer Name encoding.
    pub(crate) issuer: &'a [u8],
    /// notBefore, seconds since the Unix epoch.
    pub(crate) not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub(crate) not_after: i64,
    /// The complete subject Name encoding.
    pub(crate) subject: &'a [u8],
    /// The complete SubjectPublicKeyInfo encoding.
    pub(crate) spki: &'a [u8],
    /// Contents of the SubjectPublicKeyInfo's AlgorithmIdentifier.
    pub(crate) spki_alg: &'a [u8],
    /// The subjectPublicKey BIT STRING's bytes (no unused-bits octet).
    pub(crate) public_key: &'a [u8],
    /// Contents of the outer signatureAlgorithm AlgorithmIdentifier.
    pub(crate) signature_alg: &'a [u8],
    /// The signatureValue BIT STRING's bytes (no unused-bits octet).
    pub(crate) signature: &'a [u8],
    /// Why this certificate may not be a trust-bundle CA (`None`: it may).
    ca_refusal: Option<&'static str>,
}

/// The raw pieces of a certificate, as `der`'s reader finds them.
struct Raw<'a> {
    tbs: &'a [u8],
    serial: &'a [u8],
    tbs_signature_alg: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    spki_alg: &'a [u8],
    public_key: &'a [u8],
    signature_alg: &'a [u8],
    signature: &'a [u8],
}

/// The contents of a TLV that must have tag `tag`.
fn contents<'a>(any: AnyRef<'a>, tag: Tag, what: &'static str) -> Result<&'a [u8], DerError> {
    if any.tag() == tag {
        Ok(any.value())
    } else {
        Err(DerError::Invalid(what))
    }
}

/// The bytes of a BIT STRING that must have no unused bits.
fn bit_string_bytes<'a>(bits: BitStringRef<'a>, what: &'static str) -> Result<&'a [u8], DerError> {
    bits.as_bytes().ok_or(DerError::Invalid(what))
}

impl<'a> Raw<'a> {
    /// Splits a certificate that `x509-cert` has already decoded, so every
    /// structural error here is already excluded; still, nothing is assumed.
    fn split(der: &'a [u8]) -> Result<Self, DerError> {
        let mut outer = SliceReader::new(der)?;
        let (tbs, signature_alg, signature) = outer.sequence(|cert| {
            let tbs = cert.tlv_bytes()?;
            let signature_alg = AnyRef::decode(cert)?;
            let signature = BitStringRef::decode(cert)?;
            Ok((tbs, signature_alg, signature))
        })?;
        outer.finish(())?;

        let mut tbs_reader = SliceReader::new(tbs)?;
        let (serial, tbs_signature_alg, issuer, subject, spki) = tbs_reader.sequence(|t| {
            if t.peek_byte() == Some(VERSION_TAG) {
                t.tlv_bytes()?;
            }
            let serial = AnyRef::decode(t)?;
            let tbs_signature_alg = AnyRef::decode(t)?;
            let issuer = t.tlv_bytes()?;
            let _validity = t.tlv_bytes()?;
            let subject = t.tlv_bytes()?;
            let spki = t.tlv_bytes()?;
            // Unique identifiers and extensions (decoded by x509-cert).
            while !t.is_finished() {
                t.tlv_bytes()?;
            }
            Ok((serial, tbs_signature_alg, issuer, subject, spki))
        })?;
        tbs_reader.finish(())?;

        let mut spki_reader = SliceReader::new(spki)?;
        let (spki_alg, public_key) = spki_reader.sequence(|s| {
            let alg = AnyRef::decode(s)?;
            let key = BitStringRef::decode(s)?;
            Ok((alg, key))
        })?;
        spki_reader.finish(())?;

        Ok(Self {
            tbs,
            serial: contents(serial, Tag::Integer, "serialNumber is not an INTEGER")?,
            tbs_signature_alg: contents(
                tbs_signature_alg,
                Tag::Sequence,
                "signature is not an AlgorithmIdentifier",
            )?,
            issuer,
            subject,
            spki,
            spki_alg: contents(
                spki_alg,
                Tag::Sequence,
                "public key algorithm is not an AlgorithmIdentifier",
            )?,
            public_key: bit_string_bytes(public_key, "subjectPublicKey has unused bits")?,
            signature_alg: contents(
                signature_alg,
                Tag::Sequence,
                "signatureAlgorithm is not an AlgorithmIdentifier",
            )?,
            signature: bit_string_bytes(signature, "signatureValue has unused bits")?,
        })
    }
}

/// Seconds since the Unix epoch of a certificate time.
fn unix_seconds(time: x509_cert::time::Time) -> Result<i64, DerError> {
    i64::try_from(time.to_unix_duration().as_secs())
        .map_err(|_| DerError::Invalid("certificate time out of range"))
}

/// Whether a certificate with these extensions may be a CA of the trust
/// bundle; `None` if it may, else why not. Only called for v3.
fn ca_refusal(extensions: &[x509_cert::ext::Extension]) -> Option<&'static str> {
    let mut basic = extensions
        .iter()
        .filter(|e| e.extn_id == BasicConstraints::OID);
    let mut usage = extensions.iter().filter(|e| e.extn_id == KeyUsage::OID);
    let (Some(basic_ext), None) = (basic.next(), basic.next()) else {
        return Some(
            if extensions
                .iter()
                .any(|e| e.extn_id == BasicConstraints::OID)
            {
                "it has more than one basicConstraints extension"
            } else {
                "it is an X.509 v3 certificate without a basicConstraints extension \
             (a CA certificate has basicConstraints CA:TRUE)"
            },
        );
    };
    match BasicConstraints::from_der(basic_ext.extn_value.as_bytes()) {
        Err(_) => return Some("its basicConstraints extension cannot be read"),
        Ok(bc) if !bc.ca => {
            return Some("its basicConstraints extension says CA:FALSE (it is not a CA)")
        }
        Ok(_) => {}
    }
    match (usage.next(), usage.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => Some("it has more than one keyUsage extension"),
        (Some(ext), None) => match KeyUsage::from_der(ext.extn_value.as_bytes()) {
            Err(_) => Some("its keyUsage extension cannot be read"),
            Ok(ku) if !ku.key_cert_sign() => Some(
                "its keyUsage extension does not allow keyCertSign \
                 (it may not sign certificates)",
            ),
            Ok(_) => None,
        },
    }
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate. The whole input must be one certificate.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, DerError> {
        let decoded = x509_cert::Certificate::from_der(der)?;
        let tbs = &decoded.tbs_certificate;
        let version = match tbs.version {
            Version::V1 => 0,
            Version::V2 => 1,
            Version::V3 => VERSION_3,
        };
        if version < 1 && (tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some()) {
            return Err(DerError::Invalid(
                "unique identifiers in an X.509 v1 certificate",
            ));
        }
        if version < VERSION_3 && tbs.extensions.is_some() {
            return Err(DerError::Invalid(
                "extensions in a certificate that is not X.509 v3",
            ));
        }
        let not_before = unix_seconds(tbs.validity.not_before)?;
        let not_after = unix_seconds(tbs.validity.not_after)?;
        let ca_refusal = if version == VERSION_3 {
            ca_refusal(tbs.extensions.as_deref().unwrap_or_default())
        } else {
            // v1 and v2 have no extensions to say either way; they stay
            // usable as CAs (see docs/TLS.md).
            None
        };
        let raw = Raw::split(der)?;
        Ok(Self {
            tbs: raw.tbs,
            version,
            serial: raw.serial,
            tbs_signature_alg: raw.tbs_signature_alg,
            issuer: raw.issuer,
            not_before,
            not_after,
            subject: raw.subject,
            spki: raw.spki,
            spki_alg: raw.spki_alg,
            public_key: raw.public_key,
            signature_alg: raw.signature_alg,
            signature: raw.signature,
            ca_refusal,
        })
    }

    /// Whether this is an X.509 version 3 certificate.
    pub(crate) fn is_v3(&self) -> bool {
        self.version == VERSION_3
    }

    /// The X.509 version as people write it: 1, 2 or 3.
    pub(crate) fn version_number(&self) -> u8 {
        self.version.saturating_add(1)
    }

    /// Why this certificate may not serve as a CA of the trust bundle, or
    /// `None` if it may: an X.509 v3 certificate needs basicConstraints
    /// CA:TRUE and, if it has a keyUsage extension, keyCertSign in it. A v1
    /// or v2 certificate (no extensions) may.
    pub(crate) fn ca_refusal(&self) -> Option<&'static str> {
        self.ca_refusal
    }

    /// All common names in the subject, in order.
    pub(crate) fn subject_common_names(&self) -> Result<Vec<String>, DerError> {
        common_names(self.subject)
    }

    /// The only common name of the subject, if there is exactly one.
    pub(crate) fn subject_common_name(&self) -> Option<String> {
        let mut names = self.subject_common_names().ok()?;
        if names.len() == 1 {
            names.pop()
        } else {
            None
        }
    }

    /// The first common name of the issuer (what pyOpenSSL's `X509Name.CN` returns).
    pub(crate) fn issuer_common_name(&self) -> Option<String> {
        common_names(self.issuer).ok()?.into_iter().next()
    }

    /// The serial number in decimal (negative serials with a leading `-`).
    pub(crate) fn serial_decimal(&self) -> String {
        integer_to_decimal(self.serial)
    }
}

/// The common names of a complete Name encoding, in order of appearance.
fn common_names(name: &[u8]) -> Result<Vec<String>, DerError> {
    let name = Name::from_der(name)?;
    let mut names = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == OID_COMMON_NAME {
                names.push(
                    decode_string(u8::from(atv.value.tag()), atv.value.value())
                        .ok_or(DerError::Invalid("common name is not a readable string"))?,
                );
            }
        }
    }
    Ok(names)
}

/// DER tags of the directory string types.
mod tag {
    pub(super) const UTF8_STRING: u8 = 0x0c;
    pub(super) const PRINTABLE_STRING: u8 = 0x13;
    pub(super) const TELETEX_STRING: u8 = 0x14;
    pub(super) const IA5_STRING: u8 = 0x16;
    pub(super) const UNIVERSAL_STRING: u8 = 0x1c;
    pub(super) const BMP_STRING: u8 = 0x1e;
    #[cfg(test)]
    pub(super) const OID: u8 = 0x06;
}

/// Decodes the directory string types used in names.
fn decode_string(string_tag: u8, bytes: &[u8]) -> Option<String> {
    match string_tag {
        tag::UTF8_STRING => std::str::from_utf8(bytes).ok().map(str::to_owned),
        tag::PRINTABLE_STRING | tag::IA5_STRING => {
            if bytes.is_ascii() {
                std::str::from_utf8(bytes).ok().map(str::to_owned)
            } else {
                None
            }
        }
        // OpenSSL reads T61String as Latin-1.
        tag::TELETEX_STRING => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        tag::BMP_STRING => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| match pair {
                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                    _ => 0,
                })
                .collect::<Vec<u16>>();
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        tag::UNIVERSAL_STRING => {
            if bytes.len() % 4 != 0 {
                return None;
            }
            bytes
                .chunks_exact(4)
                .map(|quad| match quad {
                    [a, b, c, d] => char::from_u32(u32::from_be_bytes([*a, *b, *c, *d])),
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

/// A DER INTEGER's contents (two's complement, big-endian) in decimal.
pub(crate) fn integer_to_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = bytes.to_vec();
    if negative {
        // Two's complement negation: invert, then add one.
        for b in magnitude.iter_mut() {
            *b = !*b;
        }
        for b in magnitude.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    let mut digits_rev = Vec::new();
    let mut start = 0;
    loop {
        while magnitude.get(start) == Some(&0) {
            start += 1;
        }
        let Some(rest) = magnitude.get_mut(start..) else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        let mut remainder: u32 = 0;
        for b in rest.iter_mut() {
            let acc = (remainder << 8) | u32::from(*b);
            *b = u8::try_from(acc / 10).unwrap_or(0);
            remainder = acc % 10;
        }
        digits_rev.push(char::from(b'0' + u8::try_from(remainder).unwrap_or(0)));
    }
    if digits_rev.is_empty() {
        return "0".to_owned();
    }
    let mut out = String::with_capacity(digits_rev.len() + 1);
    if negative {
        out.push('-');
    }
    out.extend(digits_rev.iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTY_0: &[u8] = include_bytes!("../../tests/fixtures/tno-certs/party_0.crt");
    const CA_ROOT: &[u8] = include_bytes!("../../tests/fixtures/tno-certs/ca-root.crt");

    fn der_of(pem: &[u8]) -> Vec<u8> {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_slice(pem)
            .expect("PEM certificate")
            .to_vec()
    }

    #[test]
    fn decimal_serials() {
        assert_eq!(integer_to_decimal(&[0x00]), "0");
        assert_eq!(integer_to_decimal(&[0x02]), "2");
        assert_eq!(integer_to_decimal(&[0x00, 0xff]), "255");
        assert_eq!(integer_to_decimal(&[0x01, 0x00]), "256");
        assert_eq!(integer_to_decimal(&[0xff]), "-1");
        assert_eq!(integer_to_decimal(&[0x80]), "-128");
        assert_eq!(integer_to_decimal(&[0xff, 0x7f]), "-129");
        // 2**64 = 18446744073709551616
        assert_eq!(
            integer_to_decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
            "18446744073709551616"
        );
        // 16 octets, checked against u128 arithmetic.
        let sixteen = [0x7fu8; 16];
        assert_eq!(
            integer_to_decimal(&sixteen),
            u128::from_be_bytes(sixteen).to_string()
        );
        // A 20-octet serial (rcgen's size): 2**152 + 1.
        let mut twenty = [0u8; 20];
        twenty[0] = 0x01;
        twenty[19] = 0x01;
        assert_eq!(
            integer_to_decimal(&twenty[..]),
            "5708990770823839524233143877797980545530986497"
        );
    }

    #[test]
    fn python_certificates_read_as_openssl_reads_them() {
        // openssl x509 -noout -dates -serial: Jan 22 13:16:51 2025 GMT (a
        // UTCTime), Jun  9 13:16:51 2052 GMT (a GeneralizedTime), serial 02.
        let der = der_of(PARTY_0);
        let cert = Certificate::parse(&der).expect("party_0");
        assert_eq!(cert.version_number(), 1);
        assert_eq!(cert.not_before, 1_737_551_811);
        assert_eq!(cert.not_after, 2_601_551_811);
        assert_eq!(cert.serial_decimal(), "2");
        assert_eq!(cert.subject_common_name().as_deref(), Some("party_0"));
        assert_eq!(
            cert.issuer_common_name().as_deref(),
            Some("ca-intermediate")
        );
        assert_eq!(cert.ca_refusal(), None, "v1: no extensions to refuse it on");
        // The signed part and the signature are the certificate's own bytes.
        assert!(der.windows(cert.tbs.len()).any(|w| w == cert.tbs));
        assert!(der.ends_with(cert.signature));

        let root = der_of(CA_ROOT);
        let root = Certificate::parse(&root).expect("root");
        assert!(root.is_v3());
        assert_eq!(root.ca_refusal(), None, "CA:TRUE, keyCertSign");
        assert_eq!(root.subject, root.issuer);
    }

    #[test]
    fn encodings_are_strict() {
        let der = der_of(PARTY_0);
        assert!(Certificate::parse(&der).is_ok());
        // Trailing data.
        let mut longer = der.clone();
        longer.push(0);
        assert!(Certificate::parse(&longer).is_err());
        // The outer length re-encoded non-minimally (0x82 LL LL -> 0x83 00 LL LL).
        assert_eq!(der[1], 0x82, "a two-octet length");
        let mut non_minimal = vec![0x30, 0x83, 0x00];
        non_minimal.extend_from_slice(&der[2..]);
        assert!(Certificate::parse(&non_minimal).is_err());
        // Indefinite length.
        let mut indefinite = vec![0x30, 0x80];
        indefinite.extend_from_slice(&der[4..]);
        indefinite.extend_from_slice(&[0, 0]);
        assert!(Certificate::parse(&indefinite).is_err());
        // Every truncation.
        for len in 0..der.len() {
            assert!(Certificate::parse(&der[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(
            decode_string(tag::UTF8_STRING, "héllo".as_bytes()).as_deref(),
            Some("héllo")
        );
        assert_eq!(
            decode_string(tag::PRINTABLE_STRING, b"abc").as_deref(),
            Some("abc")
        );
        assert_eq!(decode_string(tag::PRINTABLE_STRING, &[0xe9]), None);
        assert_eq!(
            decode_string(tag::TELETEX_STRING, &[0xe9]).as_deref(),
            Some("é")
        );
        assert_eq!(
            decode_string(tag::BMP_STRING, &[0, b'a', 0, b'b']).as_deref(),
            Some("ab")
        );
        assert_eq!(decode_string(tag::BMP_STRING, &[0, b'a', 0]), None);
        assert_eq!(
            decode_string(tag::UNIVERSAL_STRING, &[0, 0, 0, b'z']).as_deref(),
            Some("z")
        );
        assert_eq!(decode_string(tag::OID, b"x"), None);
    }
}
