//! The profile engine against the real Trustedbird field profiles (read in place from
//! `../shared/profiles/trustedbird/`, never copied into the repository) and against small
//! hostile or broken profiles written to temporary directories.

use std::fs;
use std::path::{Path, PathBuf};
use ximf::ErrorClass;
use ximf::profile::{
    self, CompChild, Diagnostic, HeaderBody, HeaderDef, Instance, Item, ListRef, Profile, RuleKind,
    Severity, ValueList, lint, parse,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn field() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/profiles/trustedbird")
}

fn field_catalog() -> ximf::Result<Profile> {
    profile::load(&field().join("ximfmail-profile.xml"))
}

fn header<'a>(inst: &'a Instance, name: &str) -> &'a HeaderDef {
    inst.headers
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("{} has no header {name}", inst.name))
}

fn sets(h: &HeaderDef) -> &[ValueList] {
    match &h.body {
        HeaderBody::Sets(s) => s,
        other => panic!("{} is not a set header: {other:?}", h.name),
    }
}

fn contents(list: &ValueList) -> Vec<&str> {
    list.items
        .iter()
        .map(|i| match i {
            Item::String(s) => s.content.as_deref().unwrap_or(""),
            Item::Compstring(c) => c.content.as_deref().unwrap_or(""),
        })
        .collect()
}

fn errors(d: &[Diagnostic]) -> Vec<String> {
    d.iter()
        .filter(|d| d.is_error())
        .map(lint::render)
        .collect()
}

fn with_code<'a>(d: &'a [Diagnostic], code: &str) -> Vec<&'a Diagnostic> {
    d.iter().filter(|d| d.code == code).collect()
}

// ---------------------------------------------------------------------------------------------
// The field profiles.

#[test]
fn field_catalog_lists_four_instances_with_their_headers() -> TestResult {
    let p = field_catalog()?;
    assert_eq!(p.catalog.theme, "Company Def");
    let names: Vec<&str> = p
        .catalog
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["smtp", "Amoco", "Caterpillar", "Whirlpool"]);
    assert!(p.catalog.instances[0].plain);
    assert_eq!(p.instances.len(), 4);
    assert!(
        errors(&p.diagnostics).is_empty(),
        "{:#?}",
        errors(&p.diagnostics)
    );

    let smtp = p.instance("SMTP").ok_or("smtp")?;
    assert!(smtp.plain && smtp.headers.is_empty());
    for (name, count) in [("Amoco", 7), ("Caterpillar", 5), ("Whirlpool", 6)] {
        let inst = p.instance(name).ok_or(name)?;
        assert_eq!(inst.headers.len(), count, "{name}");
        assert_eq!(inst.name, name, "the catalog's name is the wire name");
        assert_eq!(inst.ximf_version, "2.0");
        assert_eq!(inst.version, "1.0");
        assert!(!inst.plain);
        assert!(inst.ihm.is_some());
        assert_eq!(inst.dictionary.langs().collect::<Vec<_>>(), ["fr", "en-US"]);
    }
    assert_eq!(p.default_instance().map(|i| i.name.as_str()), Some("Amoco"));
    assert!(
        p.instance(" caterpillar ").is_some(),
        "matched case-insensitively, trimmed"
    );
    assert!(p.instance("Nope").is_none());
    Ok(())
}

#[test]
fn field_catalog_lints_with_warnings_only() {
    let d = lint::lint(&[field().join("ximfmail-profile.xml")]);
    assert!(errors(&d).is_empty(), "{:#?}", errors(&d));
    // Every field file starts with a BOM: the catalog and 4 files per instance, plus the list.
    assert_eq!(with_code(&d, "bom").len(), 14);
    // Caterpillar's rules and dictionary say "caterpillar".
    let names = with_code(&d, "name-mismatch");
    assert_eq!(names.len(), 2);
    assert!(names[0].message.contains("differs in case"));
    // data-*-precedence ids, twice in Amoco and Caterpillar.
    assert_eq!(with_code(&d, "id-pattern").len(), 8);
    // Missing type/isMandatory (spec §1.11 item 6).
    assert_eq!(with_code(&d, "missing-attribute").len(), 13);
    assert_eq!(with_code(&d, "ref-is-file").len(), 1);
    // Amoco declares precedence headers its ihm never shows (trap 6).
    let hidden = with_code(&d, "not-in-ihm");
    assert_eq!(hidden.len(), 2);
    assert!(hidden[0].message.contains("X-XIMF-Primary-Precedence"));
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
    let first = lint::render(&d[0]);
    assert!(
        first.contains("AmocoCorporation/dictionary-amoco.xml:1:1: warning: [bom]"),
        "{first}"
    );
}

#[test]
fn missing_attribute_warnings_point_at_the_header() -> TestResult {
    let p = field_catalog()?;
    let w: Vec<&Diagnostic> = with_code(&p.diagnostics, "missing-attribute")
        .into_iter()
        .filter(|d| {
            d.location
                .path
                .ends_with("WhirlpoolCorporation/headers-whirlpool.xml")
        })
        .collect();
    assert_eq!(w.len(), 3);
    assert_eq!((w[0].location.line, w[0].location.col), (6, 2));
    assert!(
        w[0].message.contains("header-policy-identifier"),
        "{}",
        w[0].message
    );
    Ok(())
}

#[test]
fn every_headers_file_loads_directly() -> TestResult {
    for (dir, file, name, count) in [
        ("AmocoCorporation", "headers-amoco.xml", "Amoco", 7),
        (
            "CaterpillarInc",
            "headers-caterpillar.xml",
            "Caterpillar",
            5,
        ),
        (
            "WhirlpoolCorporation",
            "headers-whirlpool.xml",
            "Whirlpool",
            6,
        ),
    ] {
        let p = profile::load(&field().join(dir).join(file))?;
        assert!(
            errors(&p.diagnostics).is_empty(),
            "{:#?}",
            errors(&p.diagnostics)
        );
        assert_eq!(p.catalog.instances.len(), 1);
        let inst = p.instance(name).ok_or(name)?;
        assert_eq!(inst.headers.len(), count);
        assert!(
            inst.rules.is_empty() && inst.ihm.is_none(),
            "only the headers file"
        );
        assert_eq!(inst.ximf_version, "2.0");
    }
    // The external list is relative to the headers file, so it resolves without a catalog too.
    let p = profile::load(&field().join("CaterpillarInc/headers-caterpillar.xml"))?;
    let akw = header(
        p.instance("Caterpillar").ok_or("Caterpillar")?,
        "X-XIMF-Attribution-Key-Word",
    );
    assert_eq!(sets(akw)[0].items.len(), 6);
    Ok(())
}

#[test]
fn a_directory_loads_its_catalog_or_its_instance_files() -> TestResult {
    let p = profile::load(&field())?;
    assert_eq!(p.instances.len(), 4);
    // Without a catalog: headers-x.xml with its same-suffix siblings (not the Cassidian variant).
    let p = profile::load(&field().join("CaterpillarInc"))?;
    let inst = p.instance("Caterpillar").ok_or("Caterpillar")?;
    assert_eq!(inst.files.len(), 5, "{:?}", inst.files);
    assert_eq!(inst.rules.len(), 2);
    assert!(inst.ihm.is_some());
    assert_eq!(inst.dictionary.label("ilk-akw", "fr"), "Attribution");
    assert!(
        errors(&p.diagnostics).is_empty(),
        "{:#?}",
        errors(&p.diagnostics)
    );
    Ok(())
}

#[test]
fn hidden_header_is_the_policy_identifier() -> TestResult {
    let p = field_catalog()?;
    for (name, oid) in [
        ("Amoco", "1.2.840.113549.1.9.16.7.1"),
        ("Caterpillar", "1.2.840.113549.1.9.16.7.2"),
        ("Whirlpool", "1.2.840.113549.1.9.16.7.3"),
    ] {
        let inst = p.instance(name).ok_or(name)?;
        let hidden: Vec<&HeaderDef> = inst.headers.iter().filter(|h| h.is_hidden()).collect();
        assert_eq!(hidden.len(), 1, "{name}");
        assert_eq!(hidden[0].name, "X-XIMF-Security-Policy-Identifier");
        assert!(hidden[0].ilk.is_none());
        assert!(
            !hidden[0].mandatory,
            "isMandatory missing defaults to false"
        );
        match &hidden[0].body {
            HeaderBody::String(s) => assert_eq!(s.content.as_deref(), Some(oid)),
            other => panic!("{other:?}"),
        }
    }
    Ok(())
}

#[test]
fn copy_precedence_reuses_the_precedence_values() -> TestResult {
    let p = field_catalog()?;
    for name in ["Amoco", "Caterpillar"] {
        let inst = p.instance(name).ok_or(name)?;
        let copy = &sets(header(inst, "X-XIMF-Copy-Precedence"))[0];
        assert_eq!(
            copy.reference,
            Some(ListRef::Internal("value-precedence".into()))
        );
        assert_eq!(
            contents(copy),
            ["routine", "priority", "immediate", "flash"]
        );
        let idx: Vec<Option<u32>> = copy
            .items
            .iter()
            .map(|i| match i {
                Item::String(s) => s.index,
                Item::Compstring(c) => c.index,
            })
            .collect();
        assert_eq!(idx, [Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(copy.facets.max_item, None, "absent maxItem stays None");
        let primary = header(inst, "X-XIMF-Primary-Precedence");
        assert!(primary.mandatory);
        assert_eq!(
            primary.kind,
            profile::HeaderKind::String,
            "missing type → string"
        );
    }
    Ok(())
}

#[test]
fn caterpillar_attribution_keys_come_from_the_external_list() -> TestResult {
    let p = field_catalog()?;
    let inst = p.instance("Caterpillar").ok_or("Caterpillar")?;
    let akw = &sets(header(inst, "X-XIMF-Attribution-Key-Word"))[0];
    assert_eq!(
        akw.reference,
        Some(ListRef::External("attribution-list.xml".into()))
    );
    assert_eq!(akw.facets.separator.as_deref(), Some(";"));
    assert_eq!(akw.facets.max_item, Some(2));
    assert_eq!(
        contents(akw),
        [
            "HUMAN RESOURCE",
            "SOFTWARE RESOURCE",
            "BUSINESS RESOURCE",
            "MARKET RESOURCE",
            "ALL PUBLIC",
            "CONTRIBUTORS ONLY"
        ]
    );
    match &akw.items[0] {
        Item::String(s) => assert_eq!(s.ilk.as_deref(), Some("Message for human resource only")),
        other => panic!("{other:?}"),
    }
    let list = inst
        .external_lists
        .get("attribution-list.xml")
        .ok_or("list")?;
    assert_eq!(list.name.as_deref(), Some("Attribution_List"));
    assert_eq!(list.columns, ["key", "description"]);
    assert_eq!(list.rows.len(), 6);
    assert!(inst.files.contains(&list.path));
    Ok(())
}

#[test]
fn whirlpool_linked_values_and_compstring() -> TestResult {
    let p = field_catalog()?;
    let inst = p.instance("Whirlpool").ok_or("Whirlpool")?;
    let class = &sets(header(inst, "X-XIMF-Security-Classification"))[0];
    let links: Vec<Vec<String>> = class
        .items
        .iter()
        .map(|i| match i {
            Item::String(s) => s.links.clone(),
            Item::Compstring(_) => Vec::new(),
        })
        .collect();
    assert_eq!(
        links,
        [
            vec!["value-privacy-mark-other".to_owned()],
            vec!["value-privacy-mark-confidential".to_owned()],
            vec!["value-privacy-mark-confidential".to_owned()],
        ]
    );
    let marks = sets(header(inst, "X-XIMF-Privacy-Mark"));
    let ids: Vec<Option<&str>> = marks.iter().map(|s| s.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("value-privacy-mark-confidential"),
            Some("value-privacy-mark-other")
        ]
    );
    let Item::Compstring(limited) = &marks[0].items[0] else {
        panic!("LIMITED TO is a compstring")
    };
    assert_eq!(limited.content.as_deref(), Some("LIMITED TO"));
    assert_eq!(limited.ilk.as_deref(), Some("LIMITED TO"));
    assert_eq!(limited.facets.separator.as_deref(), Some(" : "));
    match &limited.child {
        CompChild::String(s) => assert!(s.editable && s.content.is_none()),
        other => panic!("{other:?}"),
    }
    let originator = header(inst, "X-XIMF-Originator-Reference");
    match &originator.body {
        HeaderBody::String(s) => {
            assert!(s.editable);
            assert_eq!(s.facets.separator.as_deref(), Some(" - "));
            assert_eq!(s.facets.max_item, Some(10));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        header(inst, "X-XIMF-Exempted-Address").kind,
        profile::HeaderKind::Address
    );
    // The rules file holds no rule at all (spec §1.11 item 13).
    assert!(inst.rules.is_empty());
    assert!(
        inst.files
            .iter()
            .any(|f| f.ends_with("WhirlpoolCorporation/rules-whirlpool.xml"))
    );
    Ok(())
}

#[test]
fn association_tables() -> TestResult {
    let p = field_catalog()?;
    let amoco = p.instance("Amoco").ok_or("Amoco")?;
    let rule = amoco
        .rules
        .iter()
        .find(|r| r.id.as_deref() == Some("association-rule"))
        .ok_or("association-rule")?;
    let RuleKind::Association { aliases } = &rule.kinds[0] else {
        panic!("{:?}", rule.kinds)
    };
    assert_eq!(aliases[0].header_name, "X-XIMF-Privacy-Mark");
    assert_eq!(
        aliases[0].header_ref.as_deref(),
        Some("X-XIMF-Security-Classification")
    );
    let pairs: Vec<(Option<&str>, Option<&str>)> = aliases[0]
        .values
        .iter()
        .map(|v| (v.value_ref.as_deref(), v.value_name.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [
            (Some("amoco-general"), Some("amoco-minimum,amoco-medium")),
            (
                Some("amoco-confidential"),
                Some("amoco-minimum,amoco-medium,amoco-maximum")
            ),
            (
                Some("amoco-highly-confidential"),
                Some("amoco-minimum,amoco-medium,amoco-maximum,amoco-critical")
            ),
        ]
    );

    // Caterpillar's "compatibility-rule" in fact holds an association (spec §1.11 item 12).
    let cat = p.instance("Caterpillar").ok_or("Caterpillar")?;
    assert_eq!(cat.rules.len(), 2);
    assert_eq!(cat.rules[0].id.as_deref(), Some("compatibility-rule"));
    let RuleKind::Association { aliases } = &cat.rules[0].kinds[0] else {
        panic!("{:?}", cat.rules[0].kinds)
    };
    assert_eq!(aliases[0].header_name, "X-XIMF-Copy-Precedence");
    assert_eq!(aliases[0].values.len(), 4);
    assert_eq!(
        aliases[0].values[3].value_name.as_deref(),
        Some("routine,priority,immediate")
    );
    let RuleKind::Pictures { element, aliases } = &cat.rules[1].kinds[0] else {
        panic!("{:?}", cat.rules[1].kinds)
    };
    assert_eq!(element, "classificationPictures");
    assert_eq!(aliases[0].header_name, "url");
    assert_eq!(aliases[0].values.len(), 3);
    Ok(())
}

#[test]
fn amoco_compatibility_emits_a_constant_version() -> TestResult {
    let p = field_catalog()?;
    let amoco = p.instance("Amoco").ok_or("Amoco")?;
    let RuleKind::Compatibility {
        target_name,
        target_version,
        aliases,
    } = &amoco.rules[0].kinds[0]
    else {
        panic!("{:?}", amoco.rules[0].kinds)
    };
    assert_eq!(target_name, "X-SMTP");
    assert_eq!(target_version.as_deref(), Some("1.1"));
    assert_eq!(aliases.len(), 3);
    assert_eq!(aliases[0].header_name, "X-P772-Version");
    assert!(aliases[0].header_ref.is_none(), "a constant header");
    assert_eq!(aliases[0].values[0].value_name.as_deref(), Some("1.1"));
    assert_eq!(
        aliases[2].header_ref.as_deref(),
        Some("X-XIMF-Security-Classification")
    );
    Ok(())
}

#[test]
fn dictionary_labels_per_locale_with_prefix_fallback() -> TestResult {
    let p = field_catalog()?;
    let d = &p.instance("Amoco").ok_or("Amoco")?.dictionary;
    assert_eq!(d.id.as_deref(), Some("OneDico"));
    assert_eq!(
        d.label("ilk-classification", "fr"),
        "Classification de sécurité"
    );
    assert_eq!(
        d.label("ilk-classification", "en-US"),
        "Security classification"
    );
    assert_eq!(
        d.label("ilk-classification", "en"),
        "Security classification"
    );
    assert_eq!(
        d.label("ilk-classification", "fr-CA"),
        "Classification de sécurité"
    );
    assert_eq!(d.label("ilk-classification", "de"), "ilk-classification");
    assert_eq!(
        d.label("ilk-routine", "fr"),
        "ilk-routine",
        "Amoco has no such entry"
    );
    let w = &p.instance("Whirlpool").ok_or("Whirlpool")?.dictionary;
    assert_eq!(w.label("MAKE NO COPY", "fr"), "MAKE NO COPY", "literal ilk");
    Ok(())
}

#[test]
fn ihm_references_in_order() -> TestResult {
    let p = field_catalog()?;
    let ihm = p
        .instance("Whirlpool")
        .and_then(|i| i.ihm.as_ref())
        .ok_or("ihm")?;
    assert_eq!(
        ihm.header_refs,
        [
            "header-classification",
            "header-privacy-mark",
            "header-originator-reference",
            "header-reply-before",
            "header-exempted-address"
        ]
    );
    assert_eq!(
        ihm.tree_rcv,
        ["header-classification", "header-privacy-mark"]
    );
    Ok(())
}

/// Copies the field tree with every CRLF turned into LF (BOMs kept).
fn lf_copy(to: &Path) -> std::io::Result<()> {
    for entry in walk(&field())? {
        let rel = entry.strip_prefix(field()).map_err(std::io::Error::other)?;
        let dst = to.join(rel);
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent)?;
        }
        let bytes = fs::read(&entry)?;
        let mut out = Vec::with_capacity(bytes.len());
        for (i, &b) in bytes.iter().enumerate() {
            if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                out.push(b);
            }
        }
        fs::write(dst, out)?;
    }
    Ok(())
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// The model as JSON with the file paths (which differ between copies) removed.
fn model_json(p: &Profile) -> Result<String, serde_json::Error> {
    let mut instances = p.instances.clone();
    for i in &mut instances {
        i.files.clear();
        for l in i.external_lists.values_mut() {
            l.path = PathBuf::new();
        }
    }
    serde_json::to_string(&instances)
}

#[test]
fn lf_copies_parse_to_the_same_model() -> TestResult {
    let dir = tempfile::tempdir()?;
    lf_copy(dir.path())?;
    let lf_text = fs::read(dir.path().join("AmocoCorporation/headers-amoco.xml"))?;
    assert!(!lf_text.contains(&b'\r'));
    let crlf = field_catalog()?;
    let lf = profile::load(&dir.path().join("ximfmail-profile.xml"))?;
    assert_eq!(model_json(&crlf)?, model_json(&lf)?);
    let pos = |p: &Profile| -> Vec<(&'static str, u32, u32)> {
        p.diagnostics
            .iter()
            .map(|d| (d.code, d.location.line, d.location.col))
            .collect()
    };
    assert_eq!(pos(&crlf), pos(&lf));
    Ok(())
}

#[test]
fn cassidian_rules_variant_parses_directly() -> TestResult {
    let parsed =
        parse::rules_file(&field().join("CaterpillarInc/rules-caterpillar.cassidian-variant.xml"))?;
    // The secureHeaders/securityLabel example is commented out in the field file.
    let kinds: Vec<Vec<&str>> = parsed
        .value
        .iter()
        .map(|r| {
            r.kinds
                .iter()
                .map(|k| match k {
                    RuleKind::Association { .. } => "association",
                    RuleKind::Pictures { .. } => "pictures",
                    _ => "other",
                })
                .collect()
        })
        .collect();
    assert_eq!(kinds, [vec!["association"], vec!["pictures"]]);
    assert!(parsed.diagnostics.iter().all(|d| !d.is_error()));
    Ok(())
}

#[test]
fn secure_headers_default_file() -> TestResult {
    let h = parse::secure_headers_file(&field().join("secureHeadersDefault.xml"))?;
    assert_eq!(h.len(), 15);
    assert_eq!(h[0].header_name, "X-XIMF-Primary-Precedence");
    assert_eq!(h[0].status, Some(0));
    assert_eq!(h[2].header_name, "X-XIMF-Correspondance-Type");
    assert_eq!(h[2].status, None);
    assert_eq!(h[14].header_name, "Subject");
    Ok(())
}

#[test]
fn external_list_file_parses_directly() -> TestResult {
    let l = parse::external_list_file(&field().join("CaterpillarInc/attribution-list.xml"))?;
    assert_eq!(l.value.rows.len(), 6);
    assert_eq!(
        l.value.rows[5],
        ["CONTRIBUTORS ONLY", "Message for contributors only"]
    );
    assert_eq!(with_code(&l.diagnostics, "bom").len(), 1);
    Ok(())
}

#[test]
fn builtin_profiles() {
    let p = profile::builtin();
    assert!(
        errors(&p.diagnostics).is_empty(),
        "{:#?}",
        errors(&p.diagnostics)
    );
    let names: Vec<&str> = p.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["smtp", "Example"]);
    let ex = p.instance("example").expect("Example");
    let copy = &sets(header(ex, "X-XIMF-Copy-Precedence"))[0];
    assert_eq!(copy.items.len(), 4);
    assert!(
        ex.rules
            .iter()
            .any(|r| matches!(r.kinds.first(), Some(RuleKind::Constraint { .. })))
    );
    assert!(
        p.diagnostics
            .iter()
            .all(|d| d.location.path.starts_with("<builtin>"))
    );
}

// ---------------------------------------------------------------------------------------------
// Broken and hostile profiles.

const HEADER_OPEN: &str =
    r#"<ximf:header id="header-a" headerName="X-A" type="string" isMandatory="false" ilk="a">"#;

fn instance_xml(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\" name=\"T\" version=\"1\" ximfVersion=\"2.0\">\n{body}\n</ximf:instance>\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&path, text)?;
    Ok(path)
}

fn load_str(body: &str) -> Result<(Profile, tempfile::TempDir), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = write(dir.path(), "headers-t.xml", &instance_xml(body))?;
    Ok((profile::load(&path)?, dir))
}

fn load_err(text: &str) -> Result<(ximf::Error, String), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = write(dir.path(), "p.xml", text)?;
    match profile::load(&path) {
        Ok(_) => Err("expected a load error".into()),
        Err(e) => {
            let shown = e.to_string();
            Ok((e, shown))
        }
    }
}

#[test]
fn doctype_with_entities_is_refused_without_expansion() -> TestResult {
    let (e, shown) = load_err(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>\n<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\" name=\"&secret;\"/>",
    )?;
    assert_eq!(e.class(), ErrorClass::Config);
    assert!(shown.contains("p.xml:2:1: DOCTYPE not allowed"), "{shown}");
    assert!(!shown.contains("root:"), "nothing from /etc/passwd");
    // An undeclared entity is refused too, never looked up.
    let (_, shown) = load_err(&instance_xml(
        r#"<ximf:header id="header-a" headerName="&foo;"/>"#,
    ))?;
    assert!(shown.contains("p.xml:3:"), "{shown}");
    Ok(())
}

#[test]
fn billion_laughs_is_refused() -> TestResult {
    let mut text =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        text.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    text.push_str("]>\n<lolz>&lol9;</lolz>\n");
    let started = std::time::Instant::now();
    let (_, shown) = load_err(&text)?;
    assert!(shown.contains("DOCTYPE not allowed"), "{shown}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    Ok(())
}

#[test]
fn unparsable_xml_is_an_error_with_line_and_col() -> TestResult {
    let (e, shown) = load_err(&instance_xml(&format!(
        "{HEADER_OPEN}\n  <ximf:string content=\"x\">\n</ximf:header>"
    )))?;
    assert_eq!(e.class(), ErrorClass::Config);
    match &e {
        ximf::Error::Profile { location, message } => {
            assert_eq!(location.line, 5, "{shown}");
            assert!(location.col > 0);
            assert!(message.contains("not well-formed"), "{message}");
        }
        other => panic!("{other}"),
    }
    let (_, shown) = load_err("this is not xml")?;
    assert!(shown.contains("p.xml:1:1"), "{shown}");
    Ok(())
}

#[test]
fn dangling_linked_value_is_an_error() -> TestResult {
    let (p, _dir) = load_str(&format!(
        "{HEADER_OPEN}\n<ximf:set id=\"value-s\">\n  <ximf:string content=\"x\"><ximf:linkedValue ref=\"value-nowhere\"/></ximf:string>\n</ximf:set></ximf:header>"
    ))?;
    let d = with_code(&p.diagnostics, "dangling-ref");
    assert_eq!(d.len(), 1);
    assert!(d[0].is_error());
    assert_eq!((d[0].location.line, d[0].location.col), (5, 3));
    assert!(d[0].message.contains("value-nowhere"));
    assert_eq!(p.instances.len(), 1, "the model is still usable");
    Ok(())
}

#[test]
fn duplicate_id_across_files_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "ximfmail-profile.xml",
        r#"<profile><theme name="t"><instance id="i" name="T" ximfVersion="2.0" version="1" directory="d/">
<schema>h.xml</schema><rule>r.xml</rule></instance></theme></profile>"#,
    )?;
    write(
        dir.path(),
        "d/h.xml",
        &instance_xml(&format!(
            "{HEADER_OPEN}<ximf:set id=\"value-s\"><ximf:string id=\"value-s\" content=\"x\"/></ximf:set></ximf:header>"
        )),
    )?;
    write(
        dir.path(),
        "d/r.xml",
        &instance_xml(
            r#"<ximf:rule id="header-a"><ximf:policy><ximf:role aclLevel="1"/></ximf:policy></ximf:rule>"#,
        ),
    )?;
    let p = profile::load(dir.path())?;
    let d = with_code(&p.diagnostics, "duplicate-id");
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d.iter().all(|d| d.is_error()));
    assert!(d[0].location.path.ends_with("d/h.xml"));
    assert!(
        d[1].location.path.ends_with("d/r.xml"),
        "ids span the files"
    );
    Ok(())
}

#[test]
fn set_ref_escaping_the_directory_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    // A perfectly good list one level up: it must not be read.
    write(
        dir.path(),
        "x.xml",
        r#"<ximf xmlns:ximf="http://eads.org/ximf/"><ximf:base name="L"><ximf:tree><ximf:description><ximf:data>K</ximf:data></ximf:description></ximf:tree></ximf:base></ximf>"#,
    )?;
    let path = write(
        dir.path(),
        "sub/headers-t.xml",
        &instance_xml(&format!(
            "{HEADER_OPEN}<ximf:set ref=\"../x.xml\"/></ximf:header>"
        )),
    )?;
    let p = profile::load(&path)?;
    let d = with_code(&p.diagnostics, "path-escape");
    assert_eq!(d.len(), 1);
    assert!(d[0].is_error());
    let inst = &p.instances[0];
    assert!(inst.external_lists.is_empty());
    assert!(sets(&inst.headers[0])[0].items.is_empty());
    Ok(())
}

#[test]
fn catalog_directory_escaping_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "h.xml", &instance_xml(""))?;
    let cat = write(
        dir.path(),
        "cat/ximfmail-profile.xml",
        r#"<profile><theme name="t"><instance id="smtp" name="smtp" ximfVersion="2.0" version="1"/>
<instance id="i" name="T" ximfVersion="2.0" version="1" directory="../"><schema>h.xml</schema></instance>
<instance id="j" name="U" ximfVersion="2.0" version="1"><schema>missing.xml</schema></instance></theme></profile>"#,
    )?;
    let p = profile::load(&cat)?;
    assert_eq!(with_code(&p.diagnostics, "path-escape").len(), 1);
    assert_eq!(with_code(&p.diagnostics, "missing-file").len(), 1);
    let names: Vec<&str> = p.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["smtp"], "broken entries are left out");
    assert_eq!(p.catalog.instances.len(), 3);
    Ok(())
}

#[test]
fn a_catalog_without_usable_instance_fails_to_load() -> TestResult {
    let (e, shown) = load_err(
        r#"<profile><theme name="t"><instance id="i" name="T" ximfVersion="2.0" version="1"><schema>none.xml</schema></instance></theme></profile>"#,
    )?;
    assert_eq!(e.class(), ErrorClass::Config);
    assert!(shown.contains("none.xml"), "{shown}");
    Ok(())
}

#[test]
fn header_mixing_set_and_multiset_is_an_error() -> TestResult {
    let (p, _dir) = load_str(&format!(
        "{HEADER_OPEN}<ximf:set><ximf:string content=\"a\"/></ximf:set><ximf:multiset><ximf:string content=\"b\"/></ximf:multiset></ximf:header>"
    ))?;
    let d = with_code(&p.diagnostics, "mixed-value-nodes");
    assert_eq!(d.len(), 1);
    assert!(d[0].is_error());
    assert_eq!((d[0].location.line, d[0].location.col), (3, 1));
    Ok(())
}

#[test]
fn bad_header_name_is_an_error() -> TestResult {
    let (p, _dir) = load_str(
        r#"<ximf:header id="header-a" headerName="X-Bad Name:" type="string" isMandatory="false"><ximf:string content="1"/></ximf:header>"#,
    )?;
    let d = with_code(&p.diagnostics, "bad-header-name");
    assert_eq!(d.len(), 1);
    assert!(d[0].is_error());
    assert_eq!((d[0].location.line, d[0].location.col), (3, 28));
    Ok(())
}

#[test]
fn unknown_element_is_kept_as_a_warning_with_its_position() -> TestResult {
    let (p, _dir) = load_str(&format!(
        "{HEADER_OPEN}\n    <ximf:string content=\"x\"/>\n</ximf:header>\n  <ximf:gadget colour=\"blue\"/>\n  <other:thing xmlns:other=\"urn:x\"/>"
    ))?;
    let d = with_code(&p.diagnostics, "unknown-element");
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!((d[0].location.line, d[0].location.col), (6, 3));
    assert_eq!((d[1].location.line, d[1].location.col), (7, 3));
    let ext = &p.instances[0].extensions;
    assert_eq!(ext.len(), 2);
    assert_eq!(ext[0].name, "ximf:gadget");
    assert_eq!(ext[0].what, "element");
    assert!(errors(&p.diagnostics).is_empty());
    Ok(())
}

#[test]
fn external_key_containing_the_separator_is_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "keys.xml",
        r#"<ximf xmlns:ximf="http://eads.org/ximf/"><ximf:base name="L"><ximf:tree>
<ximf:description><ximf:data>A;B</ximf:data><ximf:data>bad</ximf:data></ximf:description>
<ximf:description><ximf:data>C</ximf:data></ximf:description></ximf:tree></ximf:base></ximf>"#,
    )?;
    let path = write(
        dir.path(),
        "headers-t.xml",
        &instance_xml(&format!(
            "{HEADER_OPEN}<ximf:set ref=\"keys.xml\" separator=\";\"/></ximf:header>"
        )),
    )?;
    let p = profile::load(&path)?;
    let d = with_code(&p.diagnostics, "separator-in-key");
    assert_eq!(d.len(), 1);
    assert!(d[0].is_error() && d[0].message.contains("\"A;B\""));
    assert_eq!(contents(&sets(&p.instances[0].headers[0])[0]), ["A;B", "C"]);
    Ok(())
}

#[test]
fn dangling_set_ref_and_constraint_are_errors() -> TestResult {
    let (p, _dir) = load_str(&format!(
        "{HEADER_OPEN}<ximf:set ref=\"value-missing\"/></ximf:header>\n<ximf:rule id=\"r\"><ximf:constraint left=\"header-a\" operator=\"equal\" right=\"value-gone\"/></ximf:rule>"
    ))?;
    let d = with_code(&p.diagnostics, "dangling-ref");
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0].message.contains("value-missing"));
    assert!(d[1].message.contains("value-gone"));
    Ok(())
}

#[test]
fn custom_rule_keeps_its_content_as_written() -> TestResult {
    let inner = "\n    <cm:correspondence xmlns:cm=\"urn:ximf:correspondence:1\" name=\"professional-roaming\" usage=\"professional\">\n      <cm:sign mechanism=\"smime\"/>\n    </cm:correspondence>\n  ";
    let (p, _dir) = load_str(&format!(
        "<ximf:rule id=\"rule-correspondence\" agent=\"mua\">\n  <ximf:custom id=\"cp\" provider=\"urn:ximf:correspondence:1\">{inner}</ximf:custom>\n</ximf:rule>"
    ))?;
    let rule = &p.instances[0].rules[0];
    assert_eq!(rule.agent.as_deref(), Some("mua"));
    match &rule.kinds[0] {
        RuleKind::Custom { id, provider, raw } => {
            assert_eq!(id.as_deref(), Some("cp"));
            assert_eq!(provider, "urn:ximf:correspondence:1");
            assert_eq!(raw, inner);
        }
        other => panic!("{other:?}"),
    }
    assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
    Ok(())
}

#[test]
fn lint_reports_load_failures_and_renders_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bad = write(
        dir.path(),
        "bad.xml",
        "<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\">\n<oops>",
    )?;
    let good = write(
        dir.path(),
        "good.xml",
        &instance_xml(&format!(
            "{HEADER_OPEN}<ximf:set><ximf:string content=\"a\"><ximf:linkedValue ref=\"value-x\"/></ximf:string></ximf:set></ximf:header>"
        )),
    )?;
    let d = lint::lint(&[bad.clone(), good]);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].code, "xml");
    let line = lint::render(&d[0]);
    assert!(line.starts_with(&format!("{}:", bad.display())), "{line}");
    assert!(line.contains(": error: [xml] "), "{line}");
    assert_eq!(d[1].code, "dangling-ref");
    Ok(())
}

#[test]
fn association_naming_unknown_headers_or_values_warns() -> TestResult {
    let (p, _dir) = load_str(&format!(
        "{HEADER_OPEN}<ximf:set><ximf:string content=\"a\"/><ximf:string content=\"b\"/></ximf:set></ximf:header>\n<ximf:rule id=\"r\"><ximf:association><ximf:aliasHeader headerName=\"X-A\" headerRef=\"X-A\"><ximf:aliasValue valueRef=\"a\" valueName=\"a, c\"/></ximf:aliasHeader><ximf:aliasHeader headerName=\"X-Nope\" headerRef=\"x-a\"/></ximf:association></ximf:rule>"
    ))?;
    let unknown = with_code(&p.diagnostics, "unknown-header");
    assert_eq!(unknown.len(), 1, "{unknown:#?}");
    assert!(unknown[0].message.contains("X-Nope"));
    let values = with_code(&p.diagnostics, "unknown-value");
    assert_eq!(values.len(), 1, "{values:#?}");
    assert!(values[0].message.contains("\"c\""));
    assert!(errors(&p.diagnostics).is_empty());
    Ok(())
}

#[test]
fn elements_without_namespace_are_read_with_one_warning() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = write(
        dir.path(),
        "h.xml",
        r#"<instance name="N" version="1" ximfVersion="2.0">
  <header id="header-a" headerName="X-A" type="string" isMandatory="true" ilk="a">
    <set><string content="x"/></set>
  </header>
</instance>"#,
    )?;
    let p = profile::load(&path)?;
    assert_eq!(with_code(&p.diagnostics, "namespace").len(), 1);
    let inst = p.instance("N").ok_or("N")?;
    assert!(inst.headers[0].mandatory);
    assert_eq!(contents(&sets(&inst.headers[0])[0]), ["x"]);
    Ok(())
}
