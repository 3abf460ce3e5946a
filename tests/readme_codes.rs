//! The README's table of protection findings is generated from `ximf::secure::codes::ALL`, the
//! one registry of the engine's finding codes: this test fails when they drift apart, and
//! rewrites the table with `XIMF_BLESS=1`.

use std::path::Path;

const BEGIN: &str = "<!-- codes:begin -->\n";
const END: &str = "<!-- codes:end -->";

fn table() -> String {
    let mut t = String::from("| code | severity | meaning |\n|---|---|---|\n");
    for c in ximf::secure::codes::ALL {
        t.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.name, c.severity, c.meaning
        ));
    }
    t
}

#[test]
fn readme_finding_table_matches_the_codes_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme.find(BEGIN).expect("codes:begin marker") + BEGIN.len();
    let end = readme.find(END).expect("codes:end marker");
    let want = table();
    if readme[start..end] != want {
        if std::env::var_os("XIMF_BLESS").is_some() {
            let fixed = format!("{}{want}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, fixed).expect("write README.md");
        } else {
            panic!("README finding table differs from src/secure/codes.rs; run with XIMF_BLESS=1");
        }
    }
}

#[test]
fn every_code_the_engine_emits_is_registered() {
    // Every `codes::NAME` used in src/secure and the backends is a registered code: scan the
    // sources for string literals that look like codes next to a finding constructor.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // The sources below each directory, its subdirectories (`secure/walk/`) included.
    let mut files = Vec::new();
    let mut dirs: Vec<_> = ["secure", "smime", "pgp", "stream"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let p = entry.expect("entry").path();
            match p.is_dir() {
                true => dirs.push(p),
                false => files.push(p),
            }
        }
    }
    assert!(files.len() > 30, "{} sources", files.len());
    for p in files {
        let text = std::fs::read_to_string(&p).expect("source");
        for (i, _) in text.match_indices("codes::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if name.len() < 3 || name == "ALL" {
                continue;
            }
            let code = name.to_ascii_lowercase().replace('_', "-");
            assert!(
                ximf::secure::codes::lookup(&code).is_some(),
                "{}: codes::{name} is not in the registry",
                p.display()
            );
        }
    }
}
