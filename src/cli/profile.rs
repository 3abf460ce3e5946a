//! `ximf profile lint | show | list`.

use super::{Ctx, Format, Outcome};
use serde_json::Value;
use std::path::PathBuf;
use ximf::Result;
use ximf::profile::{HeaderBody, HeaderDef, Instance, Item, Severity};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check profiles and report deviations with file:line:col
    ///
    /// Exit 0 when no error is found (warnings allowed), 1 when errors are found.
    Lint {
        /// Profile files, catalogs or directories [default: -p, else the built-in profiles]
        paths: Vec<PathBuf>,
    },
    /// Show a compiled instance: headers, values, labels, rules
    Show {
        /// Profile file, catalog or directory [default: -p, else the built-in profiles]
        path: Option<PathBuf>,
        /// The instance to show [default: the profile's first non-plain instance]
        #[arg(long, value_name = "NAME")]
        instance: Option<String>,
        /// Language of the labels (fr, en-US, ...)
        #[arg(long, value_name = "LANG", default_value = "en-US")]
        lang: String,
    },
    /// List the instances of a catalog (or the built-in ones)
    List {
        /// Profile file, catalog or directory [default: -p, else the built-in profiles]
        path: Option<PathBuf>,
    },
}

/// Runs a profile subcommand.
pub fn run(cmd: Command, ctx: &Ctx) -> Result<Outcome> {
    match cmd {
        Command::Lint { paths } => lint(paths, ctx),
        Command::Show {
            path,
            instance,
            lang,
        } => {
            let profile = ctx.load_profile(path.as_deref())?;
            let i = super::verify::pick_instance(&profile, instance.as_deref())?;
            let out = match ctx.format {
                Format::Json => show_json(i, &lang),
                Format::Text => show_text(i, &lang),
            };
            super::emit_report(&out)?;
            Ok(Outcome::Done)
        }
        Command::List { path } => {
            let profile = ctx.load_profile(path.as_deref())?;
            let out = match ctx.format {
                Format::Json => {
                    let list: Vec<Value> = profile
                        .instances
                        .iter()
                        .map(|i| {
                            serde_json::json!({"name": i.name, "ximfVersion": i.ximf_version,
                                "version": i.version, "plain": i.plain})
                        })
                        .collect();
                    format!("{}\n", Value::Array(list))
                }
                Format::Text => profile
                    .instances
                    .iter()
                    .map(|i| format!("{}\t{}\t{}\n", i.name, i.ximf_version, i.version))
                    .collect(),
            };
            super::emit_report(&out)?;
            Ok(Outcome::Done)
        }
    }
}

fn lint(mut paths: Vec<PathBuf>, ctx: &Ctx) -> Result<Outcome> {
    if paths.is_empty()
        && let Some(p) = &ctx.profile
    {
        paths.push(p.clone());
    }
    let diags = if paths.is_empty() {
        ximf::profile::builtin().diagnostics
    } else {
        ximf::profile::lint::lint(&paths)
    };
    let out = match ctx.format {
        Format::Json => {
            let list: Vec<Value> = diags
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "severity": d.severity, "code": d.code, "message": d.message,
                        "file": d.location.path.display().to_string(),
                        "line": d.location.line, "col": d.location.col,
                    })
                })
                .collect();
            format!("{}\n", Value::Array(list))
        }
        Format::Text => diags
            .iter()
            .map(|d| ximf::profile::lint::render(d) + "\n")
            .collect(),
    };
    super::emit_report(&out)?;
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    Ok(if errors {
        Outcome::Negative
    } else {
        Outcome::Done
    })
}

/// The compiled instance as JSON, with every `ilk` resolved to a label per locale (`labels`)
/// and in the chosen language (`label`).
fn show_json(i: &Instance, lang: &str) -> String {
    let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
    add_labels(&mut v, i, lang);
    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
}

fn add_labels(v: &mut Value, i: &Instance, lang: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(ilk)) = map.get("ilk").cloned() {
                let labels: serde_json::Map<String, Value> = i
                    .dictionary
                    .langs()
                    .map(|l| {
                        (
                            l.to_owned(),
                            Value::String(i.dictionary.label(&ilk, l).into()),
                        )
                    })
                    .collect();
                map.insert("labels".into(), Value::Object(labels));
                map.insert(
                    "label".into(),
                    Value::String(i.dictionary.label(&ilk, lang).into()),
                );
            }
            for (k, child) in map.iter_mut() {
                if k != "dictionary" {
                    add_labels(child, i, lang);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| add_labels(c, i, lang)),
        _ => {}
    }
}

fn show_text(i: &Instance, lang: &str) -> String {
    let mut out = format!(
        "instance {} (ximfVersion {}, version {}){}\n",
        i.name,
        i.ximf_version,
        i.version,
        if i.plain {
            " plain: stamps nothing"
        } else {
            ""
        }
    );
    for h in &i.headers {
        out.push_str(&header_line(i, h, lang));
        out.push('\n');
        for (content, tech, label) in values(i, h, lang) {
            let tech = tech.map(|t| format!(" [{t}]")).unwrap_or_default();
            out.push_str(&format!("    {content}{tech}  {label}\n"));
        }
    }
    for r in &i.rules {
        for k in &r.kinds {
            let kind = serde_json::to_value(k)
                .ok()
                .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            let agent = r
                .agent
                .as_deref()
                .map(|a| format!(" agent={a}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "rule {} {kind}{agent}\n",
                r.id.as_deref().unwrap_or("-")
            ));
        }
    }
    out
}

fn header_line(i: &Instance, h: &HeaderDef, lang: &str) -> String {
    let mut flags = Vec::new();
    if h.is_hidden() {
        flags.push("fixed".to_owned());
    }
    if h.mandatory {
        flags.push("mandatory".to_owned());
    }
    flags.push(format!("{:?}", h.kind).to_lowercase());
    if let Some(t) = &h.technical_name {
        flags.push(format!("technical {t}"));
    }
    let label = h
        .ilk
        .as_deref()
        .map(|ilk| format!("  \"{}\"", i.dictionary.label(ilk, lang)))
        .unwrap_or_default();
    format!("{} ({}){label}", h.name, flags.join(", "))
}

fn values(i: &Instance, h: &HeaderDef, lang: &str) -> Vec<(String, Option<String>, String)> {
    let label = |ilk: &Option<String>| {
        ilk.as_deref()
            .map(|x| i.dictionary.label(x, lang).to_owned())
            .unwrap_or_default()
    };
    let item = |it: &Item| match it {
        Item::String(s) => (
            s.content.clone().unwrap_or_else(|| "(free text)".into()),
            s.technical_content.clone(),
            label(&s.ilk),
        ),
        Item::Compstring(c) => (
            format!(
                "{}{}...",
                c.content.clone().unwrap_or_default(),
                c.facets.separator.clone().unwrap_or_default()
            ),
            c.technical_content.clone(),
            label(&c.ilk),
        ),
    };
    match &h.body {
        HeaderBody::Sets(l) | HeaderBody::Multisets(l) => {
            l.iter().flat_map(|l| l.items.iter().map(item)).collect()
        }
        HeaderBody::String(s) => vec![item(&Item::String(s.clone()))],
        HeaderBody::Compstrings(c) => c
            .iter()
            .map(|c| item(&Item::Compstring(c.clone())))
            .collect(),
        HeaderBody::Empty => Vec::new(),
    }
}
