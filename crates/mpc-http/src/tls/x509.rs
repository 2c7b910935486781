//! A minimal, bounds-checked DER reader for X.509 certificates.
//!
//! Peer certificates are untrusted input: every read here is checked against
//! the remaining input and reports a [`DerError`] instead of panicking. The
//! reader understands exactly what the TLS module needs: the fields of the
//! `tbsCertificate` (any version: v1, v2 or v3), the outer signature, the
//! common names of issuer and subject, the validity period and the serial
//! number. Extensions are skipped, not interpreted.

use std::fmt;

/// Why a DER input could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerError(&'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DerError {}

/// DER tags used in certificates.
mod tag {
    pub(super) const BOOLEAN_OR_HIGHER: u8 = 0x1f;
    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    pub(super) const OID: u8 = 0x06;
    pub(super) const UTF8_STRING: u8 = 0x0c;
    pub(super) const PRINTABLE_STRING: u8 = 0x13;
    pub(super) const TELETEX_STRING: u8 = 0x14;
    pub(super) const IA5_STRING: u8 = 0x16;
    pub(super) const UTC_TIME: u8 = 0x17;
    pub(super) const GENERALIZED_TIME: u8 = 0x18;
    pub(super) const UNIVERSAL_STRING: u8 = 0x1c;
    pub(super) const BMP_STRING: u8 = 0x1e;
    pub(super) const SEQUENCE: u8 = 0x30;
    pub(super) const SET: u8 = 0x31;
    /// `[0] EXPLICIT` (constructed): the version.
    pub(super) const CONTEXT_0: u8 = 0xa0;
    /// `[1] IMPLICIT` (primitive): issuerUniqueID.
    pub(super) const CONTEXT_1_PRIMITIVE: u8 = 0x81;
    /// `[2] IMPLICIT` (primitive): subjectUniqueID.
    pub(super) const CONTEXT_2_PRIMITIVE: u8 = 0x82;
    /// `[3] EXPLICIT` (constructed): extensions.
    pub(super) const CONTEXT_3: u8 = 0xa3;
}

/// DER encoding of the OID 2.5.4.3 (id-at-commonName), contents only.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Longest serial number accepted (RFC 5280 allows 20 octets; be generous).
const MAX_SERIAL_LEN: usize = 64;

/// One decoded tag-length-value.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    /// The value bytes.
    contents: &'a [u8],
    /// Tag, length and value: the complete encoding.
    whole: &'a [u8],
}

/// A cursor over DER input.
#[derive(Debug, Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV of any tag. Only definite, minimally encoded lengths of
    /// at most four length octets are accepted.
    fn read_any(&mut self) -> Result<Tlv<'a>, DerError> {
        let (&tag, rest) = self
            .data
            .split_first()
            .ok_or(DerError("truncated DER: missing tag"))?;
        if tag & tag::BOOLEAN_OR_HIGHER == tag::BOOLEAN_OR_HIGHER {
            return Err(DerError("unsupported DER: high tag number"));
        }
        let (&first, mut rest) = rest
            .split_first()
            .ok_or(DerError("truncated DER: missing length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(DerError("invalid DER: indefinite length"));
            }
            if count > 4 {
                return Err(DerError("unsupported DER: length too large"));
            }
            let len_bytes = rest
                .get(..count)
                .ok_or(DerError("truncated DER: length octets"))?;
            rest = rest
                .get(count..)
                .ok_or(DerError("truncated DER: length octets"))?;
            if len_bytes.first() == Some(&0) {
                return Err(DerError("invalid DER: non-minimal length"));
            }
            let mut len: u64 = 0;
            for &b in len_bytes {
                len = (len << 8) | u64::from(b);
            }
            if len < 0x80 {
                return Err(DerError("invalid DER: non-minimal length"));
            }
            usize::try_from(len).map_err(|_| DerError("unsupported DER: length too large"))?
        };
        let header_len = self.data.len() - rest.len();
        let contents = rest
            .get(..len)
            .ok_or(DerError("truncated DER: value shorter than its length"))?;
        let end = header_len
            .checked_add(len)
            .ok_or(DerError("unsupported DER: length too large"))?;
        let whole = self
            .data
            .get(..end)
            .ok_or(DerError("truncated DER: value shorter than its length"))?;
        self.data = self.data.get(end..).unwrap_or_default();
        Ok(Tlv {
            tag,
            contents,
            whole,
        })
    }

    /// Reads one TLV that must have tag `expected`.
    fn read(&mut self, expected: u8, what: &'static str) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read_any()?;
        if tlv.tag != expected {
            return Err(DerError(what));
        }
        Ok(tlv)
    }

    /// Reads one TLV if the next tag is `expected`.
    fn read_optional(&mut self, expected: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(expected) {
            self.read_any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if input is left.
    fn finish(&self, what: &'static str) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError(what))
        }
    }
}

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
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate. The whole input must be one certificate.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, DerError> {
        let mut outer = Reader::new(der);
        let cert = outer.read(tag::SEQUENCE, "certificate is not a SEQUENCE")?;
        outer.finish("trailing data after the certificate")?;

        let mut cert_reader = Reader::new(cert.contents);
        let tbs = cert_reader.read(tag::SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
        let signature_alg = cert_reader.read(
            tag::SEQUENCE,
            "signatureAlgorithm is not an AlgorithmIdentifier",
        )?;
        let signature_value =
            cert_reader.read(tag::BIT_STRING, "signatureValue is not a BIT STRING")?;
        cert_reader.finish("trailing data in the certificate")?;
        let signature = bit_string_bytes(signature_value.contents)?;

        let mut t = Reader::new(tbs.contents);
        let version = match t.read_optional(tag::CONTEXT_0)? {
            None => 0,
            Some(explicit) => {
                let mut v = Reader::new(explicit.contents);
                let int = v.read(tag::INTEGER, "version is not an INTEGER")?;
                v.finish("trailing data in the version")?;
                match int.contents {
                    [n @ 0..=2] => *n,
                    _ => return Err(DerError("unsupported certificate version")),
                }
            }
        };
        let serial = t
            .read(tag::INTEGER, "serialNumber is not an INTEGER")?
            .contents;
        if serial.is_empty() {
            return Err(DerError("empty serialNumber"));
        }
        if serial.len() > MAX_SERIAL_LEN {
            return Err(DerError("serialNumber too long"));
        }
        let tbs_signature_alg = t
            .read(tag::SEQUENCE, "signature is not an AlgorithmIdentifier")?
            .contents;
        let issuer = t.read(tag::SEQUENCE, "issuer is not a Name")?.whole;
        let validity = t.read(tag::SEQUENCE, "validity is not a SEQUENCE")?;
        let subject = t.read(tag::SEQUENCE, "subject is not a Name")?.whole;
        let spki = t.read(tag::SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;

        if version >= 1 {
            t.read_optional(tag::CONTEXT_1_PRIMITIVE)?;
            t.read_optional(tag::CONTEXT_2_PRIMITIVE)?;
        }
        if version == VERSION_3 {
            if let Some(ext) = t.read_optional(tag::CONTEXT_3)? {
                let mut e = Reader::new(ext.contents);
                e.read(tag::SEQUENCE, "extensions are not a SEQUENCE")?;
                e.finish("trailing data after the extensions")?;
            }
        }
        t.finish("unexpected data in tbsCertificate")?;

        let mut v = Reader::new(validity.contents);
        let not_before = parse_time(v.read_any()?)?;
        let not_after = parse_time(v.read_any()?)?;
        v.finish("trailing data in the validity")?;

        let mut s = Reader::new(spki.contents);
        let spki_alg = s
            .read(
                tag::SEQUENCE,
                "public key algorithm is not an AlgorithmIdentifier",
            )?
            .contents;
        let key = s.read(tag::BIT_STRING, "subjectPublicKey is not a BIT STRING")?;
        s.finish("trailing data in subjectPublicKeyInfo")?;
        let public_key = bit_string_bytes(key.contents)?;

        Ok(Self {
            tbs: tbs.whole,
            version,
            serial,
            tbs_signature_alg,
            issuer,
            not_before,
            not_after,
            subject,
            spki: spki.whole,
            spki_alg,
            public_key,
            signature_alg: signature_alg.contents,
            signature,
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

/// The bytes of a BIT STRING that must have no unused bits.
fn bit_string_bytes(contents: &[u8]) -> Result<&[u8], DerError> {
    match contents.split_first() {
        Some((0, bytes)) => Ok(bytes),
        Some(_) => Err(DerError("BIT STRING with unused bits")),
        None => Err(DerError("empty BIT STRING")),
    }
}

/// The common names of a complete Name encoding, in order of appearance.
fn common_names(name: &[u8]) -> Result<Vec<String>, DerError> {
    let mut outer = Reader::new(name);
    let seq = outer.read(tag::SEQUENCE, "Name is not a SEQUENCE")?;
    outer.finish("trailing data after a Name")?;
    let mut names = Vec::new();
    let mut rdns = Reader::new(seq.contents);
    while !rdns.is_empty() {
        let rdn = rdns.read(tag::SET, "RelativeDistinguishedName is not a SET")?;
        let mut atvs = Reader::new(rdn.contents);
        while !atvs.is_empty() {
            let atv = atvs.read(tag::SEQUENCE, "AttributeTypeAndValue is not a SEQUENCE")?;
            let mut fields = Reader::new(atv.contents);
            let oid = fields.read(tag::OID, "attribute type is not an OID")?;
            let value = fields.read_any()?;
            fields.finish("trailing data in AttributeTypeAndValue")?;
            if oid.contents == OID_COMMON_NAME {
                names.push(
                    decode_string(value.tag, value.contents)
                        .ok_or(DerError("common name is not a readable string"))?,
                );
            }
        }
    }
    Ok(names)
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

/// Parses UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`)
/// into seconds since the Unix epoch.
fn parse_time(tlv: Tlv<'_>) -> Result<i64, DerError> {
    let bad = DerError("invalid certificate time");
    let (year, rest) = match tlv.tag {
        tag::UTC_TIME => {
            let yy = digits(tlv.contents.get(..2).ok_or(bad)?).ok_or(bad)?;
            let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
            (year, tlv.contents.get(2..).ok_or(bad)?)
        }
        tag::GENERALIZED_TIME => {
            let year = digits(tlv.contents.get(..4).ok_or(bad)?).ok_or(bad)?;
            (year, tlv.contents.get(4..).ok_or(bad)?)
        }
        _ => {
            return Err(DerError(
                "validity time is neither UTCTime nor GeneralizedTime",
            ))
        }
    };
    // MMDDHHMMSSZ
    if rest.len() != 11 || rest.last() != Some(&b'Z') {
        return Err(bad);
    }
    let field = |range: std::ops::Range<usize>| rest.get(range).and_then(digits).ok_or(bad);
    let month = field(0..2)?;
    let day = field(2..4)?;
    let hour = field(4..6)?;
    let minute = field(6..8)?;
    let second = field(8..10)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// ASCII decimal digits to a number (at most four digits are ever passed).
fn digits(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    bytes.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn times() {
        let utc = |s: &str| {
            parse_time(Tlv {
                tag: tag::UTC_TIME,
                contents: s.as_bytes(),
                whole: &[],
            })
        };
        let gen = |s: &str| {
            parse_time(Tlv {
                tag: tag::GENERALIZED_TIME,
                contents: s.as_bytes(),
                whole: &[],
            })
        };
        assert_eq!(utc("700101000000Z"), Ok(0));
        assert_eq!(utc("250122131650Z"), Ok(1_737_551_810));
        assert_eq!(gen("20520609131650Z"), Ok(2_601_551_810));
        assert_eq!(utc("500101000000Z"), Ok(-631_152_000));
        assert_eq!(gen("20000229235959Z"), Ok(951_868_799));
        assert!(gen("20010229000000Z").is_err());
        assert!(utc("700101000000").is_err());
        assert!(utc("7001010000+0Z").is_err());
        assert!(utc("701301000000Z").is_err());
        assert!(gen("2000010100000Z").is_err());
        assert!(utc("").is_err());
    }

    #[test]
    fn lengths_are_strict() {
        // Indefinite, non-minimal, truncated.
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).read_any().is_err());
        assert!(Reader::new(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5])
            .read_any()
            .is_err());
        assert!(Reader::new(&[0x30, 0x82, 0x00, 0x81]).read_any().is_err());
        assert!(Reader::new(&[0x30, 0x03, 1, 2]).read_any().is_err());
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1])
            .read_any()
            .is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).read_any().is_err());
        let mut r = Reader::new(&[0x04, 0x02, 1, 2, 0x05, 0x00]);
        let first = r.read_any().unwrap();
        assert_eq!(first.contents, &[1, 2]);
        assert_eq!(first.whole, &[4, 2, 1, 2]);
        let second = r.read_any().unwrap();
        assert_eq!(second.tag, 0x05);
        assert!(r.is_empty());
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
