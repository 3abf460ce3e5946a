//! DER for the two signed attributes that carry XIMF semantics: the RFC 2634 ESS security label
//! (spec §4.5) and RFC 7508 SecureHeaderFields (spec §4.3), plus a lenient reader for
//! Trustedbird's pre-RFC id-aa 80 form (spec §4.4). Sets are written in DER order (trap 24).

use super::asn1::{self, Tlv};

/// id-aa-securityLabel (RFC 2634 §3).
pub const OID_SECURITY_LABEL: &str = "1.2.840.113549.1.9.16.2.2";
/// id-aa-secureHeaderFieldsIdentifier (RFC 7508 §4.1).
pub const OID_SECURE_HEADERS: &str = "1.2.840.113549.1.9.16.2.55";
/// Trustedbird's unregistered secure-headers attribute (read only, never written).
pub const OID_SECURE_HEADERS_LEGACY: &str = "1.2.840.113549.1.9.16.2.80";

/// An RFC 2634 ESSSecurityLabel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EssLabel {
    /// Security policy identifier (dotted OID).
    pub policy: String,
    /// Classification, 0..=256.
    pub classification: Option<i64>,
    /// Privacy mark (one value; PrintableString when it fits, else UTF8String).
    pub privacy_mark: Option<String>,
    /// Security categories: (type OID, complete DER encoding of the value).
    pub categories: Vec<(String, Vec<u8>)>,
}

fn printable(s: &str) -> bool {
    s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

impl EssLabel {
    /// The DER encoding of the label (the attribute value).
    ///
    /// Fails when the policy or a category type is not an OID, the classification is out of
    /// 0..=256, there are more than 64 categories or the privacy mark is empty.
    pub fn to_der(&self) -> Result<Vec<u8>, String> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        if let Some(c) = self.classification {
            if !(0..=256).contains(&c) {
                return Err(format!("classification {c} is outside 0..256"));
            }
            parts.push(asn1::int(asn1::INTEGER, c));
        }
        parts.push(
            asn1::oid(&self.policy).ok_or_else(|| format!("bad policy OID {:?}", self.policy))?,
        );
        if let Some(m) = &self.privacy_mark {
            if m.is_empty() {
                return Err("empty privacy mark".into());
            }
            let tag = if printable(m) {
                asn1::PRINTABLE_STRING
            } else {
                asn1::UTF8_STRING
            };
            parts.push(asn1::tlv(tag, m.as_bytes()));
        }
        if !self.categories.is_empty() {
            if self.categories.len() > 64 {
                return Err("more than 64 security categories".into());
            }
            let mut cats = Vec::new();
            for (oid, value) in &self.categories {
                let o = asn1::oid(oid).ok_or_else(|| format!("bad category OID {oid:?}"))?;
                // type [0] IMPLICIT OID → 0x80; value [1] is ANY, hence EXPLICIT (0xA1).
                let ty = asn1::tlv(0x80, &o[2..]);
                let val = asn1::tlv(0xa1, value);
                cats.push(asn1::cons(asn1::SEQUENCE, &[&ty, &val]));
            }
            parts.push(asn1::set_of(cats));
        }
        // ESSSecurityLabel is a SET: DER orders the components by tag (X.690 §10.3), which
        // puts the classification INTEGER before the policy OID.
        parts.sort_by_key(|p| p[0]);
        Ok(asn1::tlv(asn1::SET, &parts.concat()))
    }

    /// Decodes a label; `None` when it is not a well-formed ESSSecurityLabel.
    pub fn from_der(der: &[u8]) -> Option<EssLabel> {
        let (set, rest) = asn1::read(der)?;
        if set.tag != asn1::SET || !rest.is_empty() {
            return None;
        }
        let mut label = EssLabel::default();
        let mut have_policy = false;
        for c in asn1::children(set.content)? {
            match c.tag {
                asn1::INTEGER => label.classification = Some(asn1::parse_int(c.content)?),
                asn1::OID => {
                    label.policy = asn1::oid_string(c.content)?;
                    have_policy = true;
                }
                asn1::PRINTABLE_STRING | asn1::UTF8_STRING => {
                    label.privacy_mark = Some(String::from_utf8(c.content.to_vec()).ok()?)
                }
                asn1::SET => {
                    for cat in asn1::children(c.content)? {
                        let kids = asn1::children(cat.content)?;
                        let [ty, val] = kids.as_slice() else {
                            return None;
                        };
                        if ty.tag != 0x80 || val.tag != 0xa1 {
                            return None;
                        }
                        label
                            .categories
                            .push((asn1::oid_string(ty.content)?, val.content.to_vec()));
                    }
                }
                _ => return None,
            }
        }
        have_policy.then_some(label)
    }
}

/// Status of a secure header field (RFC 7508 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderStatus {
    /// The field stays in the header unchanged (0, the DEFAULT).
    Duplicated,
    /// The field was removed from the outer header (1).
    Deleted,
    /// The outer value was replaced (2).
    Modified,
}

impl HeaderStatus {
    fn from_int(v: i64) -> Option<HeaderStatus> {
        match v {
            0 => Some(HeaderStatus::Duplicated),
            1 => Some(HeaderStatus::Deleted),
            2 => Some(HeaderStatus::Modified),
            _ => None,
        }
    }
}

/// A decoded SecureHeaderFields attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecureHeaders {
    /// true = relaxed (1), false = simple (0).
    pub relaxed: bool,
    /// (name, value, status) in order.
    pub fields: Vec<(String, String, HeaderStatus)>,
    /// Decoded from Trustedbird's legacy id-aa 80 form.
    pub legacy: bool,
}

impl SecureHeaders {
    /// RFC 7508 DER: SET { ENUMERATED canon, SEQUENCE OF SEQUENCE { VisibleString, UTF8String,
    /// INTEGER status DEFAULT 0 } } — canon first (tag order, trap 24), status 0 omitted (trap 25).
    pub fn to_der(&self) -> Result<Vec<u8>, String> {
        if self.fields.is_empty() {
            return Err("no secure header fields".into());
        }
        let canon = asn1::int(asn1::ENUMERATED, i64::from(self.relaxed));
        let mut seq = Vec::new();
        for (name, value, status) in &self.fields {
            if name.is_empty() || name.contains(':') || !name.is_ascii() {
                return Err(format!("bad header field name {name:?}"));
            }
            let mut f = asn1::tlv(asn1::VISIBLE_STRING, name.as_bytes());
            f.extend(asn1::tlv(asn1::UTF8_STRING, value.as_bytes()));
            match status {
                HeaderStatus::Duplicated => {}
                HeaderStatus::Deleted => f.extend(asn1::int(asn1::INTEGER, 1)),
                HeaderStatus::Modified => f.extend(asn1::int(asn1::INTEGER, 2)),
            }
            seq.extend(asn1::tlv(asn1::SEQUENCE, &f));
        }
        let seq = asn1::tlv(asn1::SEQUENCE, &seq);
        Ok(asn1::cons(asn1::SET, &[&canon, &seq]))
    }

    /// Decodes RFC 7508 (`legacy` false) or Trustedbird's id-aa 80 form (`legacy` true):
    /// SET OF CHOICE { ENUMERATED, SET OF SEQUENCE { IA5String, IA5String, INTEGER } } with
    /// 4-octet integers. Field status defaults to duplicated when absent.
    pub fn from_der(der: &[u8], legacy: bool) -> Option<SecureHeaders> {
        let (set, _) = asn1::read(der)?;
        if set.tag != asn1::SET {
            return None;
        }
        let mut relaxed = None;
        let mut fields = Vec::new();
        for c in asn1::children(set.content)? {
            match c.tag {
                asn1::ENUMERATED => {
                    if !legacy && !asn1::int_is_der(c.content) {
                        return None;
                    }
                    relaxed = match asn1::parse_int(c.content)? {
                        0 => Some(false),
                        1 => Some(true),
                        _ => return None,
                    };
                }
                asn1::SEQUENCE | asn1::SET => {
                    for f in asn1::children(c.content)? {
                        fields.push(header_field(f, legacy)?);
                    }
                }
                _ => return None,
            }
        }
        Some(SecureHeaders {
            relaxed: relaxed?,
            fields,
            legacy,
        })
    }
}

fn header_field(f: Tlv<'_>, legacy: bool) -> Option<(String, String, HeaderStatus)> {
    let kids = asn1::children(f.content)?;
    let name = kids.first()?;
    let value = kids.get(1)?;
    let text = |t: &Tlv<'_>| String::from_utf8(t.content.to_vec()).ok();
    let status = match kids.get(2) {
        Some(s) if s.tag == asn1::INTEGER => {
            if !legacy && !asn1::int_is_der(s.content) {
                return None;
            }
            match asn1::parse_int(s.content)? {
                // Trustedbird's "unset"; treat as the default.
                -1 if legacy => HeaderStatus::Duplicated,
                v => HeaderStatus::from_int(v)?,
            }
        }
        Some(_) => return None,
        None => HeaderStatus::Duplicated,
    };
    Some((text(name)?, text(value)?, status))
}

/// RFC 6376 §3.4.2 relaxed header canonicalization of a (name, raw value) pair: lowercased name,
/// unfolded value, WSP runs collapsed to one SP, no leading or trailing WSP.
pub fn relaxed(name: &str, value: &[u8]) -> (String, String) {
    (
        name.trim().to_ascii_lowercase(),
        crate::mime::normalize(value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caterpillar_red_label_is_der_ordered() {
        let l = EssLabel {
            policy: "1.2.840.113549.1.9.16.7.2".into(),
            classification: Some(9),
            privacy_mark: Some("CONFIDENTIEL ROUGE".into()),
            categories: vec![("1.2.840.113549.1.9.16.7.4".into(), vec![0x02, 0x01, 0x05])],
        };
        let der = l.to_der().expect("der");
        let kids = asn1::children(asn1::read(&der).expect("set").0.content).expect("kids");
        let tags: Vec<u8> = kids.iter().map(|k| k.tag).collect();
        assert_eq!(tags, vec![0x02, 0x06, 0x13, 0x31]);
        assert_eq!(EssLabel::from_der(&der), Some(l));
    }

    #[test]
    fn utf8_privacy_mark_and_range() {
        let l = EssLabel {
            policy: "1.2.3".into(),
            classification: Some(256),
            privacy_mark: Some("confidentiel défense".into()),
            categories: vec![],
        };
        let der = l.to_der().expect("der");
        assert!(der.windows(2).any(|w| w[0] == 0x0c));
        assert_eq!(EssLabel::from_der(&der), Some(l.clone()));
        let bad = EssLabel {
            classification: Some(257),
            ..l
        };
        assert!(bad.to_der().is_err());
    }

    #[test]
    fn secure_headers_omit_default_status() {
        let s = SecureHeaders {
            relaxed: true,
            fields: vec![
                (
                    "from".into(),
                    "alice@example.org".into(),
                    HeaderStatus::Duplicated,
                ),
                ("subject".into(), "hi".into(), HeaderStatus::Deleted),
                ("x-a".into(), "".into(), HeaderStatus::Duplicated),
            ],
            legacy: false,
        };
        let der = s.to_der().expect("der");
        // SET { ENUMERATED 1, SEQUENCE ... }
        assert_eq!(&der[2..5], &[0x0a, 0x01, 0x01]);
        assert_eq!(der[5], 0x30);
        // Only one INTEGER (the Deleted status) is present.
        assert_eq!(
            der.windows(3).filter(|w| *w == [0x02, 0x01, 0x01]).count(),
            1
        );
        assert_eq!(SecureHeaders::from_der(&der, false), Some(s));
    }

    #[test]
    fn legacy_trustedbird_form_is_lenient_only() {
        // SET { ENUMERATED(4 octets) 1, SET OF { SEQUENCE { IA5 "subject", IA5 "x", INTEGER(4) 0 } } }
        let field = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::IA5_STRING, b"subject"),
                &asn1::tlv(asn1::IA5_STRING, b"x"),
                &asn1::tlv(asn1::INTEGER, &[0, 0, 0, 0]),
            ],
        );
        let der = asn1::cons(
            asn1::SET,
            &[
                &asn1::tlv(asn1::ENUMERATED, &[0, 0, 0, 1]),
                &asn1::tlv(asn1::SET, &field),
            ],
        );
        let s = SecureHeaders::from_der(&der, true).expect("lenient");
        assert!(s.relaxed && s.legacy);
        assert_eq!(s.fields[0].0, "subject");
        assert!(SecureHeaders::from_der(&der, false).is_none());
    }

    #[test]
    fn relaxed_canonicalization() {
        assert_eq!(
            relaxed("Subject", b" a \r\n\t b  "),
            ("subject".into(), "a b".into())
        );
    }
}
