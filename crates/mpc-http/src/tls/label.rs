//! How certificates are named in logs, errors and `Debug` output. The names
//! come from certificates, which may come from the network: every text made
//! here is escaped ([`escape`]), so it never holds a control character.

use super::x509::Certificate;
use crate::logsafe::escape;

/// "CN=<subject CN> (<issuer CN>:<serial>)" for Debug output, error
/// messages and logs. The names come from the certificate, which may come
/// from the network: they are escaped ([`escape`]), so the text never holds
/// a control character.
pub(crate) fn describe(der: &[u8]) -> String {
    match Certificate::parse(der) {
        Ok(cert) => format!(
            "CN={} ({}:{})",
            escape(&cert.subject_common_name().unwrap_or_else(|| "?".to_owned())),
            escape(&cert.issuer_common_name().unwrap_or_else(|| "?".to_owned())),
            cert.serial_decimal()
        ),
        Err(_) => "<unparsable certificate>".to_owned(),
    }
}

/// The subject of a certificate for error messages: `CN=<name>` per common
/// name (escaped), or `no CN`.
pub(crate) fn subject_label(cert: &Certificate<'_>) -> String {
    match cert.subject_common_names() {
        Ok(names) if !names.is_empty() => names
            .iter()
            .map(|cn| format!("CN={}", escape(cn)))
            .collect::<Vec<_>>()
            .join(", "),
        Ok(_) => "no CN".to_owned(),
        Err(_) => "unreadable subject".to_owned(),
    }
}

/// `"<issuer CN>:<serial as decimal>"` of a DER certificate: the Python
/// package's party identity (for logs). `None` if unparsable or the issuer
/// has no CN.
pub(crate) fn python_identity(cert: &[u8]) -> Option<String> {
    let cert = Certificate::parse(cert).ok()?;
    Some(format!(
        "{}:{}",
        cert.issuer_common_name()?,
        cert.serial_decimal()
    ))
}
