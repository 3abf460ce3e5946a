//! The correspondence policy schema (schemas/ximf-correspondence.xsd) validates every shipped
//! example with the real xmllint, and rejects broken policies.

use crate::support::*;
use std::process::Command;

fn xmllint(schema: &str, file: &std::path::Path) -> std::process::Output {
    Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(root().join("schemas").join(schema))
        .arg(file)
        .output()
        .expect("xmllint is required (scripts/setup.sh installs libxml2-utils)")
}

#[test]
fn shipped_examples_validate() {
    let ex = root().join("schemas/examples");
    for (schema, file) in [
        ("ximf-profile-policy.xsd", "corporate.xml"),
        ("ximf-correspondence.xsd", "clearances.xml"),
        ("ximf-correspondence.xsd", "caterpillar-model.xml"),
    ] {
        let o = xmllint(schema, &ex.join(file));
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn design_example_validates_inside_an_instance() {
    // design.md §3.2's example rule, in an instance: it must keep working.
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("design.xml");
    std::fs::write(
        &f,
        r#"<ximf:instance name="D" version="1.0" ximfVersion="2.0" xmlns:ximf="http://eads.org/ximf/">
<ximf:rule id="rule-correspondence" agent="mua">
  <ximf:custom id="cp" provider="urn:ximf:correspondence:1">
    <cm:correspondence xmlns:cm="urn:ximf:correspondence:1" name="professional-roaming" usage="professional">
      <cm:when context="network" in="public hotel"/>
      <cm:sign mechanism="smime openpgp" digest="sha256 sha384 sha512" min-rsa-bits="2048"
               header-protection="rfc9788" secure-headers="From To Cc Subject X-XIMF-Security-Classification"/>
      <cm:encrypt mechanism="smime openpgp" cipher="aes256-gcm aes256-cbc aes128-gcm"/>
      <cm:label from-header="X-XIMF-Security-Classification"/>
      <cm:max-size bytes="10485760"/>
      <cm:recipients allow-domains="example.org example.net"/>
      <cm:need-to-know clearances="clearances.xml"/>
    </cm:correspondence>
  </ximf:custom>
</ximf:rule>
</ximf:instance>"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("clearances.xml"),
        r#"<cm:clearances xmlns:cm="urn:ximf:correspondence:1"><cm:clearance domain="example.org" level="50"/></cm:clearances>"#,
    )
    .expect("write");
    let o = xmllint("ximf-profile-policy.xsd", &f);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // ximf reads it and explains the selection.
    let p = f.display().to_string();
    let s = ximf(
        &[
            "-p",
            &p,
            "profile",
            "show",
            "--usage",
            "professional",
            "--context",
            "network=hotel",
        ],
        b"",
    );
    assert_eq!(code(&s), 0, "{}{}", out(&s), err(&s));
    assert!(
        out(&s).contains("professional-roaming: chosen"),
        "{}",
        out(&s)
    );
    // The rule says agent="mua": a verifying MDA does not select it.
    let v = ximf(
        &[
            "-p",
            &p,
            "profile",
            "show",
            "--usage",
            "professional",
            "--context",
            "network=hotel",
            "--agent",
            "mda",
        ],
        b"",
    );
    assert_eq!(code(&v), 1, "{}", out(&v));
    assert!(
        out(&v).contains("applies to agent mua, not mda"),
        "{}",
        out(&v)
    );
}

#[test]
fn broken_policies_fail_validation() {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, body) in [
        ("use", r#"<cm:sign use="sometimes"/>"#),
        ("mechanism", r#"<cm:sign mechanism="smime pem"/>"#),
        ("days", r#"<cm:when context="time" days="funday"/>"#),
        ("tz", r#"<cm:when context="time" tz="Europe/Paris"/>"#),
        ("unknown", r#"<cm:teleport/>"#),
    ] {
        let f = dir.path().join(format!("{name}.xml"));
        std::fs::write(
            &f,
            format!(
                r#"<cm:model xmlns:cm="urn:ximf:correspondence:1" catalog="x.xml"><cm:correspondence name="t" usage="u">{body}</cm:correspondence></cm:model>"#
            ),
        )
        .expect("write");
        let o = xmllint("ximf-correspondence.xsd", &f);
        assert_eq!(o.status.code(), Some(3), "{name} should be invalid");
    }
}
