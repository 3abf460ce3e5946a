//! Selection: the first correspondence type whose usage matches and whose `when` conditions all
//! hold in the context wins (design.md §3.2).

use super::{Condition, CorrespondenceType, Model, TimeWindow};
use crate::check::rule_applies;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Context facts, keys lower-case (`network=hotel`, `time=2026-11-30T09:00:00Z`, `os=linux`).
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Key → value.
    pub values: BTreeMap<String, String>,
}

impl Context {
    /// Builds a context from `k=v` items; later items override earlier ones. `defaults` come
    /// first (`$XIMF_CONTEXT`, split on commas), then `flags` (`--context`).
    pub fn build(defaults: Option<&str>, flags: &[String]) -> Result<Context> {
        let mut values = BTreeMap::new();
        let items = defaults
            .into_iter()
            .flat_map(|d| d.split(','))
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
            .chain(flags.iter().cloned());
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                return Err(Error::Usage(format!(
                    "context '{item}': expected KEY=VALUE\nhint: --context network=hotel"
                )));
            };
            let k = k.trim().to_ascii_lowercase();
            if k.is_empty() {
                return Err(Error::Usage(format!("context '{item}': empty key")));
            }
            values.insert(k, v.trim().to_owned());
        }
        Ok(Context { values })
    }

    /// Fills `time` (RFC 3339 UTC of `now`) and `os` when not given.
    pub fn with_defaults(mut self, now: i64, os: &str) -> Context {
        self.values
            .entry("time".into())
            .or_insert_with(|| rfc3339(now));
        self.values
            .entry("os".into())
            .or_insert_with(|| os.to_owned());
        self
    }

    /// `k=v, k=v`, for messages.
    pub fn describe(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn rfc3339(t: i64) -> String {
    let (y, m, d) = crate::clock::civil_from_days(t.div_euclid(86400));
    let s = t.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Why a type was or was not chosen.
#[derive(Debug, Clone)]
pub struct Verdict<'m> {
    /// The type.
    pub ty: &'m CorrespondenceType,
    /// True when it matches.
    pub matches: bool,
    /// One reason per check, in order.
    pub reasons: Vec<String>,
}

/// Evaluates every type for `usage` in `ctx` acting as `agent`, in document order.
pub fn explain<'m>(model: &'m Model, usage: &str, ctx: &Context, agent: &str) -> Vec<Verdict<'m>> {
    model
        .types
        .iter()
        .map(|t| {
            let mut reasons = Vec::new();
            let mut ok = true;
            if !t.usage.eq_ignore_ascii_case(usage.trim()) {
                ok = false;
                reasons.push(format!("usage is {}, not {usage}", t.usage));
            }
            if !rule_applies(t.agent.as_deref(), agent) {
                ok = false;
                reasons.push(format!(
                    "applies to agent {}, not {agent}",
                    t.agent.as_deref().unwrap_or("-")
                ));
            }
            for c in &t.when {
                let (holds, why) = holds(c, ctx);
                ok &= holds;
                reasons.push(why);
            }
            Verdict {
                ty: t,
                matches: ok,
                reasons,
            }
        })
        .collect()
}

/// The chosen type: the first that matches. None fits → exit 78 naming the usage and context.
pub fn select<'m>(
    model: &'m Model,
    usage: &str,
    ctx: &Context,
    agent: &str,
) -> Result<&'m CorrespondenceType> {
    explain(model, usage, ctx, agent)
        .into_iter()
        .find(|v| v.matches)
        .map(|v| v.ty)
        .ok_or_else(|| {
            Error::Config(format!(
                "usage '{usage}' with context ({}): no correspondence type fits\nhint: ximf profile show --usage {usage} explains each type",
                ctx.describe()
            ))
        })
}

fn holds(c: &Condition, ctx: &Context) -> (bool, String) {
    let Some(value) = ctx.values.get(&c.key) else {
        return (false, format!("context key {} missing", c.key));
    };
    if let Some(w) = &c.window {
        return match crate::clock::parse_rfc3339(value) {
            Some(t) => {
                let inside = in_window(w, t);
                (
                    inside,
                    format!(
                        "{}={value} is {} the window",
                        c.key,
                        if inside { "inside" } else { "outside" }
                    ),
                )
            }
            None => (false, format!("{}={value} is not an RFC 3339 time", c.key)),
        };
    }
    if !c.any_of.is_empty() && !c.any_of.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        return (
            false,
            format!("{}={value} not in [{}]", c.key, c.any_of.join(" ")),
        );
    }
    if c.none_of.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        return (false, format!("{}={value} excluded", c.key));
    }
    (true, format!("{}={value} holds", c.key))
}

/// True when instant `t` falls inside the window, in the window's offset. Windows wrapping past
/// midnight (`from > to`) count the early part as belonging to the previous day's window.
pub fn in_window(w: &TimeWindow, t: i64) -> bool {
    let local = t + i64::from(w.offset_minutes) * 60;
    let days = local.div_euclid(86400);
    let minute = (local.rem_euclid(86400) / 60) as u32;
    // 1970-01-01 was a Thursday; 0 = Monday.
    let weekday = |d: i64| ((d + 3).rem_euclid(7)) as u8;
    if w.from <= w.to {
        w.days.contains(&weekday(days)) && minute >= w.from && minute < w.to
    } else {
        (w.days.contains(&weekday(days)) && minute >= w.from)
            || (w.days.contains(&weekday(days - 1)) && minute < w.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(days: &[u8], from: u32, to: u32, off: i32) -> TimeWindow {
        TimeWindow {
            days: days.to_vec(),
            from,
            to,
            offset_minutes: off,
        }
    }

    fn t(s: &str) -> i64 {
        crate::clock::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn window_edges() {
        let office = win(&[0, 1, 2, 3, 4], 8 * 60, 18 * 60, 60);
        // Monday 2026-11-30 08:00 at +01:00 is 07:00Z: the first minute inside.
        assert!(in_window(&office, t("2026-11-30T07:00:00Z")));
        assert!(!in_window(&office, t("2026-11-30T06:59:59Z")));
        // 18:00 local is outside (end exclusive); 17:59 inside.
        assert!(!in_window(&office, t("2026-11-30T17:00:00Z")));
        assert!(in_window(&office, t("2026-11-30T16:59:00Z")));
        // Saturday.
        assert!(!in_window(&office, t("2026-11-28T10:00:00Z")));
        // Friday 23:30Z is Saturday 00:30 at +01:00.
        let night = win(&[4], 22 * 60, 6 * 60, 60);
        assert!(in_window(&night, t("2026-11-27T23:30:00Z")));
        assert!(in_window(&night, t("2026-11-27T21:00:00Z")));
        assert!(!in_window(&night, t("2026-11-28T05:30:00Z")));
    }

    #[test]
    fn context_flags_override_env() {
        let c = Context::build(
            Some("network=office, device=laptop"),
            &["network=hotel".into()],
        )
        .expect("ctx");
        assert_eq!(c.values["network"], "hotel");
        assert_eq!(c.values["device"], "laptop");
        assert!(Context::build(None, &["novalue".into()]).is_err());
        let d = c.with_defaults(0, "linux");
        assert_eq!(d.values["time"], "1970-01-01T00:00:00Z");
        assert_eq!(d.values["os"], "linux");
    }
}
