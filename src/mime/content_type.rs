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

    /// Why the raw value of a Content-Type field could be read two ways, if it could: a comment
    /// (RFC 822 CFWS) anywhere outside a quoted string, or a parameter given twice — plainly,
    /// or plainly and in RFC 2231 form (`boundary*0=`, `boundary*=`). mail-parser drops
    /// comments and picks one value; other readers (mutt) keep the comment in the subtype or
    /// the boundary, or pick the other value: on a signed or encrypted structure that
    /// difference decides what the reader is shown, so the engine refuses it.
    pub fn ambiguity(raw_value: &[u8]) -> Option<String> {
        let mut names: Vec<String> = Vec::new();
        let mut in_quote = false;
        let mut escaped = false;
        let mut segment = Vec::new();
        let mut segments: Vec<Vec<u8>> = Vec::new();
        for &b in raw_value {
            if escaped {
                escaped = false;
                segment.push(b);
                continue;
            }
            match b {
                b'\\' if in_quote => escaped = true,
                b'"' => in_quote = !in_quote,
                b'(' | b')' if !in_quote => {
                    return Some("a comment in the Content-Type field".into());
                }
                b';' if !in_quote => {
                    segments.push(std::mem::take(&mut segment));
                    continue;
                }
                _ => {}
            }
            segment.push(b);
        }
        segments.push(segment);
        for seg in segments.iter().skip(1) {
            let text = String::from_utf8_lossy(seg);
            let Some((name, _)) = text.split_once('=') else {
                continue;
            };
            // `boundary`, `boundary*`, `boundary*0`, `boundary*0*` all name `boundary`.
            let name = name.trim().to_ascii_lowercase();
            let base = name.split('*').next().unwrap_or_default().to_owned();
            let section = &name[base.len()..];
            let first_section = section.is_empty() || section == "*" || section.starts_with("*0");
            if first_section {
                if names.contains(&base) {
                    return Some(format!("the parameter {base} is given more than once"));
                }
                names.push(base);
            }
        }
        None
    }

    /// The parameter `name` (lower-case), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A CMS object (RFC 8551 §3.2): `application/pkcs7-mime`, or an octet-stream named
    /// `.p7m` as some clients label it. The engine opens it; the streaming reader knows it as
    /// ciphertext or opaque signed data.
    pub fn is_cms(&self) -> bool {
        match self.mime.as_str() {
            "application/pkcs7-mime" | "application/x-pkcs7-mime" => true,
            "application/octet-stream" => self
                .param("name")
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".p7m")),
            _ => false,
        }
    }

    /// The trimmed, lower-cased `protocol` parameter (of multipart/signed and /encrypted).
    pub fn protocol(&self) -> Option<String> {
        self.param("protocol")
            .map(|p| p.trim().to_ascii_lowercase())
    }

    /// RFC 3156 §4 PGP/MIME encryption: `multipart/encrypted` of `application/pgp-encrypted`.
    pub fn is_pgp_encrypted(&self) -> bool {
        self.mime == "multipart/encrypted"
            && self.protocol().as_deref() == Some("application/pgp-encrypted")
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
    fn ambiguous_fields_are_found() {
        let a = |s: &str| ContentType::ambiguity(s.as_bytes()).is_some();
        assert!(a(
            " multipart/(x)signed; protocol=\"application/pkcs7-signature\"; boundary=SIG(x)"
        ));
        assert!(a(
            " multipart/signed; boundary*0=S; boundary*1=IG; boundary=ZZ"
        ));
        assert!(a(" multipart/mixed; boundary=a; BOUNDARY=b"));
        assert!(a(" multipart/mixed; boundary*=utf-8''a; boundary=b"));
        assert!(!a(" multipart/mixed; boundary=\"(not a comment); x\""));
        assert!(!a(
            " multipart/signed; boundary*0=S; boundary*1=IG; protocol=x"
        ));
        assert!(!a(" text/plain; charset=us-ascii"));
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
