//! The project's XML schemas (`schemas/`) against real documents, with `xmllint --schema`.
//!
//! - Every XML file shipped under `profiles/` validates: instance files against
//!   `ximf-profile.xsd`, catalogs (`ximfmail-profile.xml`) against `ximf-catalog.xsd`, external
//!   value lists against `ximf-list.xsd`.
//! - So does every Trustedbird field profile under `../shared/profiles/trustedbird/` (skipped,
//!   with a note, only when that directory is absent).
//! - The four files of an instance, merged the way ximf merges them, still validate (one ID space).
//! - Hand-written invalid documents are rejected, and the field's extension shapes are accepted.
//!
//! xmllint (libxml2-utils, installed by `scripts/setup.sh`) is required: without it these tests
//! fail, they do not skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// xmllint's exit status for "the document does not validate" (1 is "not well-formed",
/// 5 "the schema does not compile").
const XMLLINT_INVALID: i32 = 3;

const XIMF_NS: &str = "http://eads.org/ximf/";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trustedbird_dir() -> PathBuf {
    repo().join("../shared/profiles/trustedbird")
}

/// What kind of XIMF document a file is, hence which schema it is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `ximf:instance`: a headers, dictionary, ihm or rules file (or a merge of them).
    Instance,
    /// `profile`: a catalog (`ximfmail-profile.xml`).
    Catalog,
    /// `ximf` (no namespace): an external value list.
    List,
}

impl Kind {
    fn schema(self) -> PathBuf {
        let name = match self {
            Kind::Instance => "ximf-profile.xsd",
            Kind::Catalog => "ximf-catalog.xsd",
            Kind::List => "ximf-list.xsd",
        };
        repo().join("schemas").join(name)
    }

    fn of_root(root: &str) -> Option<Kind> {
        match root {
            "ximf:instance" => Some(Kind::Instance),
            "profile" => Some(Kind::Catalog),
            "ximf" => Some(Kind::List),
            _ => None,
        }
    }
}

/// The outcome of one `xmllint --noout --schema` run.
struct Lint {
    code: Option<i32>,
    stderr: String,
}

impl Lint {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs xmllint. Panics when it cannot be started: a missing validator must not pass as a skip.
fn xmllint(schema: &Path, file: &Path) -> Lint {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): install libxml2-utils (scripts/setup.sh does); \
                 the schema tests need it"
            )
        });
    Lint {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
}

/// The qualified name of the root element: skips a BOM, the XML declaration, processing
/// instructions, comments and a doctype.
fn root_element(text: &str) -> Option<String> {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        let end = if rest.starts_with("<?") {
            rest.find("?>").map(|i| i + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else if rest.starts_with("<!") {
            rest.find('>').map(|i| i + 1)
        } else {
            let name = rest.strip_prefix('<')?;
            let len = name
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(name.len());
            return Some(name[..len].to_string());
        };
        rest = &rest[end?..];
    }
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "xml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
}

/// The kind of a profile file, from its root element; a catalog must also have the
/// catalog's file name (`ximfmail-profile.xml`) and vice versa.
fn kind_of(path: &Path) -> Option<Kind> {
    let kind = Kind::of_root(&root_element(&read(path))?)?;
    let is_catalog_name = file_name(path) == "ximfmail-profile.xml";
    assert_eq!(
        kind == Kind::Catalog,
        is_catalog_name,
        "{}: a catalog must be named ximfmail-profile.xml, and only a catalog",
        path.display()
    );
    Some(kind)
}

/// Validates each file against the schema of its kind; returns the failures and the counts.
fn validate_all(files: &[(PathBuf, Kind)]) -> (Vec<String>, [usize; 3]) {
    let mut failures = Vec::new();
    let mut counts = [0; 3];
    for (path, kind) in files {
        counts[*kind as usize] += 1;
        let lint = xmllint(&kind.schema(), path);
        if !lint.ok() {
            failures.push(format!(
                "{} ({kind:?}, exit {:?}):\n{}",
                path.display(),
                lint.code,
                lint.stderr
            ));
        }
    }
    (failures, counts)
}

/// Splits an instance file into the root start tag (with everything before it) and the
/// root's content.
fn split_instance(text: &str) -> (&str, &str) {
    let start = text.find("<ximf:instance").expect("an ximf:instance root");
    let open_end = start + text[start..].find('>').expect("a complete start tag") + 1;
    if text[start..open_end].ends_with("/>") {
        return (&text[..open_end - 2], "");
    }
    let close = text
        .rfind("</ximf:instance>")
        .expect("a closing ximf:instance tag");
    (&text[..open_end], &text[open_end..close])
}

/// Merges the instance sets of `dir` the way ximf does (headers root, then the dictionary,
/// ihm and rules content): one merged document per `headers-NAME.xml`, written to `out`.
fn merged_instances(dir: &Path, out: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut merged = Vec::new();
    for headers in xml_files(dir) {
        let Some(name) = file_name(&headers)
            .strip_prefix("headers-")
            .and_then(|n| n.strip_suffix(".xml"))
        else {
            continue;
        };
        let folder = headers.parent().expect("a parent directory");
        let text = read(&headers);
        let (open, body) = split_instance(&text);
        let mut doc = format!("{}{body}", open.trim_start_matches('\u{feff}'));
        for part in ["dictionary", "ihm", "rules"] {
            let path = folder.join(format!("{part}-{name}.xml"));
            if path.exists() {
                doc.push_str(split_instance(&read(&path)).1);
            }
        }
        doc.push_str("</ximf:instance>\n");
        let target = out.join(format!("merged-{name}.xml"));
        fs::write(&target, doc).expect("write the merged document");
        merged.push((headers, target));
    }
    merged
}

#[test]
fn shipped_profiles_validate() {
    let dir = repo().join("profiles");
    let mut files = Vec::new();
    for path in xml_files(&dir) {
        let kind = kind_of(&path).unwrap_or_else(|| {
            panic!(
                "{}: not an XIMF instance, catalog or list; every XML file under profiles/ \
                 must have a schema in schemas/",
                path.display()
            )
        });
        files.push((path, kind));
    }
    let (failures, counts) = validate_all(&files);
    assert!(
        failures.is_empty(),
        "invalid shipped profiles:\n{}",
        failures.join("\n")
    );
    assert!(
        counts[Kind::Instance as usize] >= 4,
        "the built-in Example instance files are missing"
    );
    assert!(
        counts[Kind::Catalog as usize] >= 1,
        "the built-in catalog is missing"
    );
}

#[test]
fn trustedbird_profiles_validate() {
    let dir = trustedbird_dir();
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; Trustedbird profiles not checked",
            dir.display()
        );
        return;
    }
    let mut files = Vec::new();
    for path in xml_files(&dir) {
        match kind_of(&path) {
            Some(kind) => files.push((path, kind)),
            // secureHeadersDefault.xml: another namespace and format, not an XIMF profile file.
            None => eprintln!(
                "note: {} is not a profile file; not checked",
                path.display()
            ),
        }
    }
    let (failures, counts) = validate_all(&files);
    assert!(
        failures.is_empty(),
        "Trustedbird profiles rejected:\n{}",
        failures.join("\n")
    );
    // Amoco, Caterpillar (two rules variants), Whirlpool: 13 instance files, 1 catalog, 1 list.
    assert!(
        counts[Kind::Instance as usize] >= 13,
        "instance files found: {counts:?}"
    );
    assert!(
        counts[Kind::Catalog as usize] >= 1,
        "catalogs found: {counts:?}"
    );
    assert!(
        counts[Kind::List as usize] >= 1,
        "external lists found: {counts:?}"
    );
}

#[test]
fn merged_instances_validate() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut dirs = vec![repo().join("profiles")];
    if trustedbird_dir().is_dir() {
        dirs.push(trustedbird_dir());
    } else {
        eprintln!(
            "note: {} is absent; Trustedbird merge not checked",
            trustedbird_dir().display()
        );
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in dirs {
        for (headers, merged) in merged_instances(&dir, tmp.path()) {
            checked += 1;
            let lint = xmllint(&Kind::Instance.schema(), &merged);
            if !lint.ok() {
                failures.push(format!("{} merged:\n{}", headers.display(), lint.stderr));
            }
        }
    }
    assert!(checked >= 1, "no instance set found");
    assert!(
        failures.is_empty(),
        "merged instances rejected:\n{}",
        failures.join("\n")
    );
}

/// Values of `name="..."` attributes in `text` (for our own well-formed, double-quoted files).
fn attr_values<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let end = rest.find('"').expect("a closing quote");
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// Text contents of `<tag>...</tag>` elements in `text`.
fn element_texts<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let end = rest.find(&close).expect("a closing tag");
        out.push(rest[..end].trim());
        rest = &rest[end..];
    }
    out
}

#[test]
fn builtin_example_is_consistent() {
    let dir = repo().join("profiles/builtin/example");
    let part = |p: &str| read(&dir.join(format!("{p}-example.xml")));
    let (headers, dictionary, ihm, rules) = (
        part("headers"),
        part("dictionary"),
        part("ihm"),
        part("rules"),
    );
    let root = format!(
        "<ximf:instance name=\"Example\" version=\"1.0\" ximfVersion=\"2.0\" xmlns:ximf=\"{XIMF_NS}\">"
    );
    for (name, text) in [
        ("headers", &headers),
        ("dictionary", &dictionary),
        ("ihm", &ihm),
        ("rules", &rules),
    ] {
        assert!(
            !text.starts_with('\u{feff}'),
            "{name}-example.xml starts with a BOM"
        );
        assert!(!text.contains('\r'), "{name}-example.xml has CR line ends");
        assert!(
            text.contains(&root),
            "{name}-example.xml: root must be {root}"
        );
    }
    let catalog = read(&repo().join("profiles/builtin/ximfmail-profile.xml"));
    assert!(!catalog.starts_with('\u{feff}') && !catalog.contains('\r'));

    // Ids: header-... / value-..., unique across the merged instance.
    let header_ids = attr_values(&headers, "id")
        .into_iter()
        .filter(|id| id.starts_with("header-"))
        .collect::<Vec<_>>();
    for id in attr_values(&headers, "id") {
        assert!(
            id.starts_with("header-") || id.starts_with("value-"),
            "id {id}: header ids are header-..., value ids value-..."
        );
    }
    // Every ilk has a label in both languages.
    let locales = dictionary
        .split("<ximf:locale ")
        .skip(1)
        .collect::<Vec<_>>();
    assert_eq!(locales.len(), 2, "two locales: en-US and fr");
    assert!(locales[0].starts_with("lang=\"en-US\"") && locales[1].starts_with("lang=\"fr\""));
    let mut ilks = attr_values(&headers, "ilk");
    ilks.extend(attr_values(&ihm, "ilk"));
    for ilk in &ilks {
        for locale in &locales {
            let entry = format!("entity=\"{ilk}\"");
            assert!(
                locale.contains(&entry),
                "ilk {ilk} has no label in {}",
                &locale[..12]
            );
        }
    }
    // The layout shows every header that has an ilk, and references only declared headers.
    let refs = element_texts(&ihm, "ximf:headerRef");
    for r in &refs {
        assert!(
            header_ids.contains(r),
            "ihm references undeclared header {r}"
        );
    }
    let shown = header_ids
        .iter()
        .filter(|id| **id != "header-policy-identifier")
        .filter(|id| !refs.contains(*id))
        .collect::<Vec<_>>();
    assert!(shown.is_empty(), "headers not in the ihm: {shown:?}");
    // linkedValue, set ref and constraint targets exist.
    let all_ids = attr_values(&headers, "id");
    let mut targets = attr_values(&headers, "ref");
    targets.extend(attr_values(&rules, "right"));
    for t in targets {
        assert!(all_ids.contains(&t), "reference to undeclared id {t}");
    }
    for left in attr_values(&rules, "left") {
        assert!(
            header_ids.contains(&left),
            "constraint on undeclared header {left}"
        );
    }
    // Compatibility and association rules refer to declared header names.
    let names = attr_values(&headers, "headerName");
    for r in attr_values(&rules, "headerRef") {
        assert!(names.contains(&r), "rule refers to undeclared header {r}");
    }
}

/// An instance document around `body`.
fn instance(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ximf:instance name=\"T\" version=\"1.0\" ximfVersion=\"2.0\" xmlns:ximf=\"{XIMF_NS}\">\n\
         {body}\n</ximf:instance>\n"
    )
}

const GOOD_HEADER: &str = r#"<ximf:header id="header-x" headerName="X-T" ilk="ilk-x" isMandatory="true">
  <ximf:set id="value-x"><ximf:string content="a"/></ximf:set>
</ximf:header>"#;

fn write_case(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.xml"));
    fs::write(&path, text).expect("write a test document");
    path
}

#[test]
fn invalid_documents_are_rejected() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    // (case, kind, document, a word the error must mention)
    let cases: Vec<(&str, Kind, String, &str)> = vec![
        (
            "set-and-multiset",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-x" headerName="X-T" ilk="x" isMandatory="true">
  <ximf:set><ximf:string content="a"/></ximf:set>
  <ximf:multiset><ximf:string content="b"/></ximf:multiset>
</ximf:header>"#,
            ),
            "multiset",
        ),
        (
            "is-mandatory-maybe",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-x" headerName="X-T" isMandatory="maybe">
  <ximf:string content="a"/>
</ximf:header>"#,
            ),
            "isMandatory",
        ),
        (
            "agent-robot",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="r" agent="robot">
  <ximf:constraint left="header-x" operator="equal" right="value-x"/>
</ximf:rule>"#,
            ),
            "agent",
        ),
        (
            "content-not-printable",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-x" headerName="X-T" ilk="x">
  <ximf:set><ximf:string content="a_b@c"/></ximf:set>
</ximf:header>"#,
            ),
            "content",
        ),
        (
            "header-name-with-space",
            Kind::Instance,
            instance(r#"<ximf:header id="header-x" headerName="X T"><ximf:string content="a"/></ximf:header>"#),
            "headerName",
        ),
        (
            "header-id-pattern",
            Kind::Instance,
            instance(r#"<ximf:header id="h-x" headerName="X-T"><ximf:string content="a"/></ximf:header>"#),
            "id",
        ),
        (
            "duplicate-id",
            Kind::Instance,
            instance(&format!("{GOOD_HEADER}\n{}", GOOD_HEADER.replace("X-T", "X-U"))),
            "header-x",
        ),
        (
            "two-strings",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-x" headerName="X-T">
  <ximf:string content="a"/><ximf:string content="b"/>
</ximf:header>"#,
            ),
            "string",
        ),
        (
            "max-item-negative",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-x" headerName="X-T" ilk="x">
  <ximf:string editable="true" maxItem="-1"/>
</ximf:header>"#,
            ),
            "maxItem",
        ),
        (
            "ximf-version-3",
            Kind::Instance,
            format!("<ximf:instance name=\"T\" version=\"1\" ximfVersion=\"3.0\" xmlns:ximf=\"{XIMF_NS}\"/>"),
            "ximfVersion",
        ),
        ("unknown-element", Kind::Instance, instance("<ximf:frobnicate/>"), "frobnicate"),
        ("empty-rule", Kind::Instance, instance(r#"<ximf:rule id="r"/>"#), "rule"),
        (
            "bad-operator",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="r"><ximf:constraint left="header-x" operator="about" right="value-x"/></ximf:rule>"#,
            ),
            "operator",
        ),
        (
            "custom-with-ximf-content",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="r"><ximf:custom provider="p"><ximf:header id="header-y" headerName="Y"><ximf:string content="a"/></ximf:header></ximf:custom></ximf:rule>"#,
            ),
            "header",
        ),
        (
            "alias-header-without-name",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="r"><ximf:compatibility targetName="MMHS" targetVersion="RFC6477"><ximf:aliasHeader headerRef="X-T"/></ximf:compatibility></ximf:rule>"#,
            ),
            "headerName",
        ),
        (
            "wrong-namespace",
            Kind::Instance,
            r#"<ximf:instance name="T" version="1" ximfVersion="2.0" xmlns:ximf="http://ximf.org/ximf/"/>"#
                .to_string(),
            "instance",
        ),
        (
            "catalog-instance-without-name",
            Kind::Catalog,
            r#"<profile><theme name="t"><instance id="a" ximfVersion="2.0" version="1"/></theme></profile>"#
                .to_string(),
            "name",
        ),
        (
            "catalog-absolute-file",
            Kind::Catalog,
            r#"<profile><theme name="t"><instance id="a" name="A" ximfVersion="2.0" version="1"><schema>/etc/passwd</schema></instance></theme></profile>"#
                .to_string(),
            "schema",
        ),
        (
            "catalog-namespaced",
            Kind::Catalog,
            format!("<profile xmlns=\"{XIMF_NS}\"><theme name=\"t\"/></profile>"),
            "profile",
        ),
        (
            "list-without-base",
            Kind::List,
            format!("<ximf xmlns:ximf=\"{XIMF_NS}\"><ximf:tree/></ximf>"),
            "tree",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, kind, text, word) in &cases {
        let path = write_case(tmp.path(), name, text);
        let lint = xmllint(&kind.schema(), &path);
        if lint.code != Some(XMLLINT_INVALID) || !lint.stderr.contains(word) {
            wrong.push(format!(
                "{name}: expected a validity error mentioning {word:?}, got exit {:?}:\n{}",
                lint.code, lint.stderr
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn field_extensions_are_accepted() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let cases: Vec<(&str, Kind, String)> = vec![
        (
            // design §3.2: the correspondence policy in XIMF's extension point
            "custom-correspondence",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="rule-correspondence" agent="mua">
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
</ximf:rule>"#,
            ),
        ),
        (
            // the commented-out Cassidian rule: two kinds in one rule, undeclared attributes
            "secure-headers-and-label",
            Kind::Instance,
            instance(
                r#"<ximf:rule id="security-sign-rule" description="signing">
  <ximf:secureHeaders targetName="SecureHeaders" canonalgo="1">
    <ximf:aliasHeader headerName="X-XIMF-Security-Classification" status="0"/>
    <ximf:aliasHeader headerName="Subject" status="2"/>
  </ximf:secureHeaders>
  <ximf:securityLabel targetName="SecurityLabel" id="intraced">
    <ximf:aliasHeader headerName="SecurityPolicyIdentifier" headerRef="X-XIMF-Security-Policy-Identifier"/>
    <ximf:aliasHeader headerName="SecurityCategory" headerRef="X-XIMF-Security-Categories-Identifier" type="2"/>
  </ximf:securityLabel>
</ximf:rule>
<ximf:rule id="r2" agent="gateway">
  <ximf:categoryPictures targetName="CategoryPictures">
    <ximf:aliasHeader headerName="url" headerRef="X-XIMF-Security-Categories">
      <ximf:aliasValue valueRef="a" valueName="chrome://x/content/a.png"/>
    </ximf:aliasHeader>
  </ximf:categoryPictures>
  <ximf:special targetName="MandatoryHeaders"><ximf:aliasHeader headerName="X-XIMF-Copy-Precedence" headerRef="cc"/></ximf:special>
  <ximf:processing type="sign-header-value"><ximf:headerName>X-XIMF-Security-Classification</ximf:headerName></ximf:processing>
  <ximf:policy><ximf:role aclLevel="50" id="role-officer"/></ximf:policy>
</ximf:rule>"#,
            ),
        ),
        (
            // XIMF 2.0's declared dictionary shape, compstrings, defaults, ximfchild
            "nested-locale-and-compstring",
            Kind::Instance,
            instance(
                r#"<ximf:header id="header-pm" headerName="X-XIMF-Privacy-Mark" ilk="ilk-pm">
  <ximf:set id="value-pm" ximfdefault="value-pm-a" maxItem="2" separator=";" technicalSeparator=",">
    <ximf:string id="value-pm-a" content="A" technicalContent="1"/>
    <ximf:compstring content="LIMITED TO" separator=" : " ximfchild="true" contentPositionEnd="false">
      <ximf:string editable="true" maxLength="20"/>
    </ximf:compstring>
    <ximf:compstring content="FOR" contentFactorise="true">
      <ximf:compstring content="X"/><ximf:compstring content="Y"/>
    </ximf:compstring>
  </ximf:set>
</ximf:header>
<ximf:header id="header-cat" headerName="X-XIMF-Security-Categories">
  <ximf:multiset id="value-cat" separator=","><ximf:string content="c1"/></ximf:multiset>
</ximf:header>
<ximf:dictionary>
  <ximf:locale lang="fr" country="FR"><ximf:locale><ximf:ilk entity="ilk-pm">Mention</ximf:ilk></ximf:locale></ximf:locale>
</ximf:dictionary>
<ximf:ihm><ximf:panel id="p"><ximf:grid><ximf:headerRef>header-pm</ximf:headerRef></ximf:grid><ximf:headerRef>header-cat</ximf:headerRef></ximf:panel></ximf:ihm>"#,
            ),
        ),
    ];
    let mut wrong = Vec::new();
    for (name, kind, text) in &cases {
        let path = write_case(tmp.path(), name, text);
        let lint = xmllint(&kind.schema(), &path);
        if !lint.ok() {
            wrong.push(format!("{name}: exit {:?}:\n{}", lint.code, lint.stderr));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
