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
        /// Explain which correspondence type this usage selects, and why
        #[command(flatten)]
        policy: super::keys::PolicyArgs,
        /// The agent the selection is made for
        #[arg(long, value_name = "AGENT", default_value = "mua",
              value_parser = ["mua", "msa", "mta", "mda", "gateway"])]
        agent: String,
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
            policy,
            agent,
        } => {
            let loaded = ctx.load(path.as_deref())?;
            let i = super::verify::pick_instance(&loaded.profile, instance.as_deref())?;
            let model = loaded.model(i)?;
            if let Some(usage) = &policy.usage {
                let c = policy.context(ctx.now)?;
                let verdicts = ximf::policy::select::explain(&model, usage, &c, &agent);
                let out = explain_text(&verdicts, usage, &c);
                super::emit_report(&out)?;
                return Ok(if verdicts.iter().any(|v| v.matches) {
                    Outcome::Done
                } else {
                    Outcome::Negative
                });
            }
            let out = match ctx.format {
                Format::Json => show_json(i, &model, &lang),
                Format::Text => show_text(i, &lang) + &model_text(&model),
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
    // The profile every other command would load: -p, else the config's `profile`.
    let configured = ctx.config.config.profile.as_ref();
    if paths.is_empty()
        && let Some(p) = ctx.profile.as_ref().or(configured)
    {
        paths.push(p.clone());
    }
    let mut diags = if paths.is_empty() {
        ximf::profile::builtin().diagnostics
    } else {
        // A standalone correspondence model is linted through the catalog it names.
        let mut targets = Vec::new();
        let mut early = Vec::new();
        for p in &paths {
            match ximf::policy::parse::sniff_model_file(p) {
                Ok(Some((catalog, _))) => targets.push(catalog),
                Ok(None) => targets.push(p.clone()),
                Err(e) => early.push(error_diag(p, e)),
            }
        }
        early.extend(ximf::profile::lint::lint(&targets));
        early
    };
    // The correspondence policy of every instance must parse too.
    let policy_paths: Vec<Option<PathBuf>> = if paths.is_empty() {
        vec![None]
    } else {
        paths.iter().cloned().map(Some).collect()
    };
    for p in policy_paths {
        let Ok(loaded) = ctx.load(p.as_deref()) else {
            continue;
        };
        for i in &loaded.profile.instances {
            if let Err(e) = loaded.model(i) {
                diags.push(error_diag(
                    p.as_deref().unwrap_or(std::path::Path::new("built-in")),
                    e,
                ));
            }
        }
    }
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
fn show_json(i: &Instance, model: &ximf::policy::Model, lang: &str) -> String {
    let mut v = serde_json::to_value(i).unwrap_or(Value::Null);
    add_labels(&mut v, i, lang);
    if let Value::Object(map) = &mut v {
        map.insert(
            "correspondence".into(),
            serde_json::to_value(&model.types).unwrap_or(Value::Null),
        );
    }
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

/// Which type a usage selects: every type with its verdict and reasons, the chosen one marked.
fn explain_text(
    verdicts: &[ximf::policy::select::Verdict<'_>],
    usage: &str,
    ctx: &ximf::policy::select::Context,
) -> String {
    let mut out = format!("usage {usage}, context {}\n", ctx.describe());
    let chosen = verdicts.iter().position(|v| v.matches);
    for (n, v) in verdicts.iter().enumerate() {
        let mark = match (chosen == Some(n), v.matches) {
            (true, _) => "chosen",
            (false, true) => "matches (an earlier type wins)",
            (false, false) => "no",
        };
        out.push_str(&format!(
            "{}: {mark}: {}\n",
            v.ty.name,
            v.reasons.join("; ")
        ));
    }
    if chosen.is_none() {
        out.push_str("no correspondence type fits\n");
    }
    out
}

/// The correspondence types and their requirements, for `show`.
fn model_text(model: &ximf::policy::Model) -> String {
    use ximf::policy::Use;
    let mut out = String::new();
    for t in &model.types {
        let mut req = Vec::new();
        for (what, p) in [("sign", &t.sign), ("encrypt", &t.encrypt)] {
            if let Some(p) = p {
                let u = match p.value.r#use {
                    Use::Required => "required",
                    Use::Optional => "optional",
                    Use::Forbidden => "forbidden",
                };
                let mut s = format!("{what} {u}");
                if !p.value.mechanisms.is_empty() {
                    s += &format!(" by {}", p.value.mechanisms.join("|"));
                }
                if !p.value.algorithms.is_empty() {
                    s += &format!(" with {}", p.value.algorithms.join("|"));
                }
                req.push(s);
            }
        }
        if let Some(m) = &t.max_size {
            req.push(format!("max {} bytes", m.value));
        }
        if let Some(r) = &t.recipients {
            if !r.value.allow_domains.is_empty() {
                req.push(format!("recipients in {}", r.value.allow_domains.join(" ")));
            }
            if !r.value.deny_domains.is_empty() {
                req.push(format!(
                    "recipients not in {}",
                    r.value.deny_domains.join(" ")
                ));
            }
        }
        if let Some(a) = &t.archive {
            req.push(format!("copy to {}", a.value));
        }
        if t.privacy.is_some() {
            req.push("no extra recipient".into());
        }
        if t.clearances.is_some() {
            req.push("need-to-know".into());
        }
        for h in &t.headers {
            req.push(format!(
                "{} in [{}]",
                h.value.name,
                h.value.values.join(" ")
            ));
        }
        let when: Vec<String> = t.when.iter().map(|c| c.key.clone()).collect();
        out.push_str(&format!(
            "correspondence {} (usage {}{}{}): {}\n",
            t.name,
            t.usage,
            if when.is_empty() {
                String::new()
            } else {
                format!(", when {}", when.join(" "))
            },
            t.agent
                .as_deref()
                .map(|a| format!(", agent {a}"))
                .unwrap_or_default(),
            if req.is_empty() {
                "no requirement".into()
            } else {
                req.join(", ")
            }
        ));
    }
    out
}

/// An error turned into a lint diagnostic (policy and model-file problems).
fn error_diag(path: &std::path::Path, e: ximf::Error) -> ximf::profile::Diagnostic {
    match e {
        ximf::Error::Profile { location, message } => {
            ximf::profile::Diagnostic::error(location, "policy-error", message)
        }
        other => ximf::profile::Diagnostic::error(
            ximf::error::Location {
                path: path.to_owned(),
                line: 0,
                col: 0,
            },
            "policy-error",
            other.to_string(),
        ),
    }
}
