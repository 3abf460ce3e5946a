//! The MIME Content-Type of an entity, parsed by mail-parser (quoting, RFC 2231 parameter
//! continuations), shared by the S/MIME and OpenPGP readers.

use mail_parser::{MessageParser, MimeHeaders};

/// A parsed Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lower-cased.
    pub mime: String,
    /// Parameters, names lower-cased, in order.
    pub params: Vec<(String, String)>,
}

impl Default for ContentType {
    /// `text/plain; charset=us-ascii`, what an entity without Content-Type is (RFC 2045 §5.2).
    fn default() -> Self {
        ContentType {
            mime: "text/plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }
}

impl ContentType {
    /// The Content-Type of a header section (with or without its ending blank line); none when
    /// the section has no parsable Content-Type field.
    pub fn from_header_section(head: &[u8]) -> Option<ContentType> {
        let parsed = MessageParser::new().parse_headers(head)?;
        let ct = parsed.content_type()?;
        let mime = match ct.subtype() {
            Some(s) => format!("{}/{}", ct.ctype(), s),
            None => ct.ctype().to_string(),
        }
        .to_ascii_lowercase();
        let params = ct
            .attributes()
            .unwrap_or_default()
            .iter()
            .map(|a| (a.name.to_ascii_lowercase(), a.value.to_string()))
            .collect();
        Some(ContentType { mime, params })
    }

    /// The Content-Type of one raw `Content-Type:` field (folding included); the RFC 2045
    /// default when it does not parse.
    pub fn from_field(raw_field: &[u8]) -> ContentType {
        let mut buf = Vec::with_capacity(raw_field.len() + 4);
        buf.extend_from_slice(raw_field);
        buf.extend_from_slice(b"\r\n\r\n");
        Self::from_header_section(&buf).unwrap_or_default()
    }

    /// The parameter `name` (lower-case), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ContentType;

    #[test]
    fn parses_quoted_and_continued_parameters() {
        let ct = ContentType::from_field(
            b"Content-Type: Multipart/Signed; protocol=\"application/pgp-signature\";\r\n micalg=pgp-sha256; boundary*0=\"ab\"; boundary*1=\"cd\"",
        );
        assert_eq!(ct.mime, "multipart/signed");
        assert_eq!(ct.param("protocol"), Some("application/pgp-signature"));
        assert_eq!(ct.param("micalg"), Some("pgp-sha256"));
        assert_eq!(ct.param("boundary"), Some("abcd"));
    }

    #[test]
    fn defaults_to_text_plain() {
        assert_eq!(
            ContentType::from_field(b"Content-Type: ;;;"),
            ContentType::default()
        );
        assert_eq!(
            ContentType::from_header_section(b"Subject: x\r\n\r\n"),
            None
        );
    }
}
