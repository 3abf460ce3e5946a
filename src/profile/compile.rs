//! The merge step (spec §1.2) and every check that needs the whole instance.
//!
//! Trustedbird builds one merged document from the four files, then looks ids up in it, so ids
//! share one space: a `set ref`, a `linkedValue ref` or a `constraint right` may point into any
//! of the files. We merge the parsed parts the same way and then resolve and check every
//! reference against that one id space.

use super::Diagnostic;
use super::model::*;
use super::parse::{self, FileParts};
use super::source::{Source, confined};
use super::xml;
use crate::error::Location;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The files of one instance, already resolved to paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileSet {
    pub headers: PathBuf,
    pub dictionary: Option<PathBuf>,
    pub ihm: Option<PathBuf>,
    pub rules: Vec<PathBuf>,
}

/// Identity the merged instance takes (from the catalog, or the headers file's root).
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity {
    pub name: String,
    pub version: String,
    pub ximf_version: String,
    pub plain: bool,
}

/// Reads, merges and checks the files of one instance. `None` when the headers file is unusable
/// (an error diagnostic says why): without it there is nothing to stamp or verify.
pub(crate) fn compile(
    source: Source,
    files: &FileSet,
    identity: &Identity,
    budget: &mut Budget,
    diags: &mut Vec<Diagnostic>,
) -> Option<Instance> {
    let headers = read_parts(source, &files.headers, diags)?;
    let mut inst = Instance {
        name: identity.name.clone(),
        version: identity.version.clone(),
        ximf_version: identity.ximf_version.clone(),
        plain: identity.plain,
        files: vec![files.headers.clone()],
        ..Instance::default()
    };
    check_name(&headers, &files.headers, identity, diags);

    // 1. The headers file is the merge target; whatever else it holds counts too.
    let FileParts {
        headers: hs,
        rules,
        dictionaries,
        ihms,
        extensions,
        ..
    } = headers;
    inst.headers = hs;
    inst.rules = rules;
    inst.extensions = extensions;
    let mut dictionary: Option<(Dictionary, Location)> = None;
    let mut ihm: Option<(Ihm, Location)> = None;
    take_first(dictionaries, &mut dictionary, "dictionary", diags);
    take_first(ihms, &mut ihm, "ihm", diags);

    // 2. The first dictionary of the dictionary file, 3. the first ihm of the ihm file,
    // 4. every rule of the rules files.
    let others = files
        .dictionary
        .iter()
        .map(|p| (p, Role::Dictionary))
        .chain(files.ihm.iter().map(|p| (p, Role::Ihm)))
        .chain(files.rules.iter().map(|p| (p, Role::Rules)));
    for (path, role) in others {
        let Some(parts) = read_parts(source, path, diags) else {
            continue;
        };
        inst.files.push(path.clone());
        check_name(&parts, path, identity, diags);
        inst.extensions.extend(parts.extensions);
        for h in &parts.headers {
            ignored(&h.location, "header", role, diags);
        }
        match role {
            Role::Dictionary => {
                take_first(parts.dictionaries, &mut dictionary, "dictionary", diags);
            }
            Role::Ihm => take_first(parts.ihms, &mut ihm, "ihm", diags),
            Role::Rules => {
                for (_, loc) in &parts.dictionaries {
                    ignored(loc, "dictionary", role, diags);
                }
                for (_, loc) in &parts.ihms {
                    ignored(loc, "ihm", role, diags);
                }
            }
        }
        if role == Role::Rules {
            inst.rules.extend(parts.rules);
        } else {
            for r in &parts.rules {
                ignored(&r.location, "rule", role, diags);
            }
        }
    }
    inst.dictionary = dictionary.map(|(d, _)| d).unwrap_or_default();
    let ihm_location = ihm.as_ref().map(|(_, loc)| loc.clone());
    inst.ihm = ihm.map(|(i, _)| i);

    // The values as declared count against the profile's budget before any ref adds to them.
    for h in &inst.headers {
        if let Err(total) = budget.spend(body_weight(&h.body)) {
            diags.push(budget.refusal(&h.location, total));
            return None;
        }
    }
    let base = files
        .headers
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Resolver {
        source,
        base,
        diags,
        budget,
        lists: HashMap::new(),
        shared: HashMap::new(),
        bad_keys: HashMap::new(),
    }
    .resolve(&mut inst, ihm_location)
    .then_some(inst)
}

/// The most values the compiled model of one load (every instance of a catalog together) may
/// hold: the values as declared plus, for each `set`/`multiset` `ref`, the values it stands
/// for (a list named by 1,000 refs counts 1,000 times; a `compstring` counts with the values
/// nested in it). Refs share their target's values in memory, but stamp, verify, the checks
/// below and `profile show` walk every list, so the expanded size is what they pay for; and
/// instances of a catalog naming the same big files each hold their own copy (issue 12).
/// Twice what one file may declare ([`xml::MAX_ELEMENTS`]): a model at the limit costs a few
/// hundred MB at most, and field profiles stay in the thousands.
pub(crate) const MAX_MODEL_VALUES: usize = 2 * xml::MAX_ELEMENTS;

/// The values a load has put into its model so far, against [`MAX_MODEL_VALUES`].
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: usize,
    refused: bool,
}

impl Budget {
    /// Adds `n` values; `Err(total)` (and nothing added) when that would pass the limit.
    fn spend(&mut self, n: usize) -> Result<(), usize> {
        let total = self.used.saturating_add(n);
        if total > MAX_MODEL_VALUES {
            self.refused = true;
            return Err(total);
        }
        self.used = total;
        Ok(())
    }

    /// True once the limit has been hit: the rest of a catalog is not compiled.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// The `expansion-limit` error for the element at `loc`, whose values would bring the
    /// model to `total`.
    fn refusal(&self, loc: &Location, total: usize) -> Diagnostic {
        Diagnostic::error(
            loc.clone(),
            EXPANSION_LIMIT,
            format!(
                "profile expands past its limit of {MAX_MODEL_VALUES} values ({total} with this element; a ref counts the values it names each time); instance not loaded"
            ),
        )
    }
}

/// The lint code of a refusal by [`Budget`].
pub(crate) const EXPANSION_LIMIT: &str = "expansion-limit";

/// The values a value tree stands for: one per `string` and `compstring`, with what is nested.
fn body_weight(body: &HeaderBody) -> usize {
    match body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => ls
            .iter()
            .fold(0, |n, l| n.saturating_add(items_weight(&l.items))),
        HeaderBody::Compstrings(cs) => cs.iter().fold(0, |n, c| n.saturating_add(comp_weight(c))),
        HeaderBody::String(_) => 1,
        HeaderBody::Empty => 0,
    }
}

fn items_weight(items: &[Item]) -> usize {
    items
        .iter()
        .fold(0, |n, it| n.saturating_add(item_weight(it)))
}

fn item_weight(item: &Item) -> usize {
    match item {
        Item::String(_) => 1,
        Item::Compstring(c) => comp_weight(c),
    }
}

fn comp_weight(c: &Comp) -> usize {
    1usize.saturating_add(match &c.child {
        CompChild::None => 0,
        CompChild::String(_) => 1,
        CompChild::List(l) => items_weight(&l.items),
        CompChild::Nested(cs) => cs.iter().fold(0, |n, c| n.saturating_add(comp_weight(c))),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Dictionary,
    Ihm,
    Rules,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Dictionary => "dictionary",
            Role::Ihm => "ihm",
            Role::Rules => "rules",
        }
    }
}

fn ignored(loc: &Location, what: &str, role: Role, diags: &mut Vec<Diagnostic>) {
    diags.push(Diagnostic::warning(
        loc.clone(),
        "ignored-element",
        format!(
            "{what} in the {} file is ignored (the merge takes it from its own file)",
            role.name()
        ),
    ));
}

/// Keeps the first of `found` unless `slot` is already filled; the rest are ignored with a
/// warning, as Trustedbird's merge appends only the first (spec §1.2).
fn take_first<T>(
    found: Vec<(T, Location)>,
    slot: &mut Option<(T, Location)>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    for (value, loc) in found {
        if slot.is_none() {
            *slot = Some((value, loc));
        } else {
            diags.push(Diagnostic::warning(
                loc,
                "ignored-element",
                format!("a second {what} is ignored (only the first one counts)"),
            ));
        }
    }
}

/// Reads one instance file, turning every failure into an error diagnostic.
fn read_parts(source: Source, path: &Path, diags: &mut Vec<Diagnostic>) -> Option<FileParts> {
    let doc = match parse::read_doc(source, path) {
        Ok(doc) => doc,
        Err(e) => {
            diags.push(Diagnostic::error(e.location, e.code, e.message));
            return None;
        }
    };
    match parse::instance_parts(&doc) {
        Ok((parts, d)) => {
            diags.extend(d);
            Some(parts)
        }
        Err(e) => {
            diags.push(Diagnostic::error(e.location, e.code, e.message));
            None
        }
    }
}

/// Each file repeats the instance name; the field files differ in case (`Caterpillar` vs
/// `caterpillar`, spec §1.3). The catalog's name is the one that goes on the wire.
fn check_name(parts: &FileParts, path: &Path, identity: &Identity, diags: &mut Vec<Diagnostic>) {
    let Some(name) = &parts.root.name else {
        return;
    };
    if name != &identity.name {
        let how = if name.eq_ignore_ascii_case(&identity.name) {
            "differs in case from"
        } else {
            "differs from"
        };
        diags.push(Diagnostic::warning(
            parts.root.location.clone(),
            "name-mismatch",
            format!(
                "instance name {name:?} in {} {how} {:?}; using {:?}",
                file_name(path),
                identity.name,
                identity.name
            ),
        ));
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What an id names. Only the kind: the node itself is looked up in [`Sources`] when a ref
/// needs its values, so indexing copies nothing.
#[derive(Debug, Clone, Copy)]
enum Target {
    Header,
    List,
    Value,
    Rule,
}

impl Target {
    fn what(self) -> &'static str {
        match self {
            Target::Header => "a header",
            Target::List => "a list",
            Target::Value => "a value",
            Target::Rule => "a rule",
        }
    }
}

/// The value nodes of the headers by id (the first of a duplicated id, as in the id space),
/// borrowed from the instance as declared: what a `ref` can name.
type Sources<'a> = HashMap<&'a str, Src<'a>>;

#[derive(Clone, Copy)]
enum Src<'a> {
    Header(&'a HeaderDef),
    List(&'a ValueList),
    Str(&'a StringValue),
    Comp(&'a Comp),
}

fn sources(headers: &[HeaderDef]) -> Sources<'_> {
    let mut out: Sources<'_> = HashMap::new();
    for h in headers {
        if !h.id.is_empty() {
            out.entry(h.id.as_str()).or_insert(Src::Header(h));
        }
        let mut nodes = Vec::new();
        body_nodes(&h.body, &mut nodes);
        for n in nodes {
            let (id, src) = match n {
                Node::List(l) => (&l.id, Src::List(l)),
                Node::Str(s) => (&s.id, Src::Str(s)),
                Node::Comp(c) => (&c.id, Src::Comp(c)),
            };
            if let Some(id) = id.as_deref().filter(|i| !i.is_empty()) {
                out.entry(id).or_insert(src);
            }
        }
    }
    out
}

/// Values a ref resolved to, with their weight (see [`body_weight`]).
#[derive(Clone)]
struct Shared {
    items: Items,
    weight: usize,
}

/// Why a ref did not resolve: (lint code, message).
type RefError = (&'static str, String);

/// A list file read once: the file, its rows as items (shared by every list naming it), and
/// their weight.
type LoadedList = Option<(ExternalList, Shared)>;

struct Resolver<'a> {
    source: Source,
    /// The headers file's directory: external lists are relative to it (spec §1.5).
    base: PathBuf,
    diags: &'a mut Vec<Diagnostic>,
    /// The load's value budget.
    budget: &'a mut Budget,
    /// External lists already read, by `ref` as written (`None`: unusable, already reported).
    lists: HashMap<String, LoadedList>,
    /// Internal refs already resolved, by id: each target is resolved once and its values are
    /// shared by every list that names it.
    shared: HashMap<String, Shared>,
    /// Per (list file, separator): the first key holding the separator and how many do.
    bad_keys: HashMap<(String, String), Option<(String, usize)>>,
}

impl Resolver<'_> {
    fn error(&mut self, loc: &Location, code: &'static str, msg: String) {
        self.diags.push(Diagnostic::error(loc.clone(), code, msg));
    }

    fn warn(&mut self, loc: &Location, code: &'static str, msg: String) {
        self.diags.push(Diagnostic::warning(loc.clone(), code, msg));
    }

    /// Resolves and checks every reference; false when the budget refused the instance.
    fn resolve(mut self, inst: &mut Instance, ihm_location: Option<Location>) -> bool {
        let ids = self.index(inst);
        // Links are checked where they are declared: a value a ref brings in was checked at
        // its origin, and walking the expanded model would repeat that once per use.
        self.check_links(inst, &ids);
        if !self.resolve_list_refs(inst, &ids) {
            return false;
        }
        self.check_rules(inst, &ids);
        if let Some(loc) = ihm_location {
            self.check_ihm(inst, &ids, &loc);
        }
        true
    }

    /// Builds the shared id space, reporting duplicates.
    fn index(&mut self, inst: &Instance) -> HashMap<String, (Target, Location)> {
        let mut ids: HashMap<String, (Target, Location)> = HashMap::new();
        let mut add = |id: &str, t: Target, loc: &Location, me: &mut Self| {
            if id.is_empty() {
                return;
            }
            if let Some((_, first)) = ids.get(id) {
                me.error(
                    loc,
                    "duplicate-id",
                    format!("duplicate id {id:?} (first declared at {first})"),
                );
            } else {
                ids.insert(id.to_owned(), (t, loc.clone()));
            }
        };
        for h in &inst.headers {
            add(&h.id, Target::Header, &h.location, self);
            let mut nodes = Vec::new();
            body_nodes(&h.body, &mut nodes);
            for n in nodes {
                let (id, t, loc) = match n {
                    Node::List(l) => (&l.id, Target::List, &l.location),
                    Node::Str(s) => (&s.id, Target::Value, &s.location),
                    Node::Comp(c) => (&c.id, Target::Value, &c.location),
                };
                if let Some(id) = id {
                    add(id, t, loc, self);
                }
            }
        }
        for r in &inst.rules {
            if let Some(id) = &r.id {
                add(id, Target::Rule, &r.location, self);
            }
            for k in &r.kinds {
                if let RuleKind::Custom { id: Some(id), .. } = k {
                    add(id, Target::Rule, &r.location, self);
                }
            }
        }
        ids
    }

    /// `set ref`/`multiset ref`: an id of the merged document first, else a list file next to
    /// the headers file (spec §1.5; trap 2). Refs name the lists as declared (a ref to a list
    /// that is itself a ref follows the chain). Two passes: every ref is resolved against the
    /// declared headers, then the results are filled in, in the same walk order. False when
    /// the budget refused the instance.
    fn resolve_list_refs(
        &mut self,
        inst: &mut Instance,
        ids: &HashMap<String, (Target, Location)>,
    ) -> bool {
        let mut external = BTreeMap::new();
        let mut results: Vec<Option<Result<(Shared, ListRef), RefError>>> = Vec::new();
        {
            let srcs = sources(&inst.headers);
            for h in &inst.headers {
                let mut lists = Vec::new();
                body_lists(&h.body, &mut lists);
                for list in lists {
                    let Some(ListRef::Internal(written)) = &list.reference else {
                        results.push(None);
                        continue;
                    };
                    if !list.items.is_empty() {
                        self.warn(
                            &list.location,
                            "ignored-element",
                            format!(
                                "list has both ref={written:?} and its own values; the ref wins"
                            ),
                        );
                    }
                    let r = self.list_items(written, list, ids, &srcs, 0, &mut external);
                    if let Ok((shared, _)) = &r
                        && let Err(total) = self.budget.spend(shared.weight)
                    {
                        let refusal = self.budget.refusal(&list.location, total);
                        self.diags.push(refusal);
                        return false;
                    }
                    results.push(Some(r));
                }
            }
        }
        let mut results = results.into_iter();
        for h in &mut inst.headers {
            let mut lists = Vec::new();
            body_lists_mut(&mut h.body, &mut lists);
            for list in lists {
                match results.next().flatten() {
                    None => {}
                    Some(Ok((shared, reference))) => {
                        list.items = shared.items;
                        list.reference = Some(reference);
                    }
                    Some(Err((code, msg))) => {
                        list.items = Items::default();
                        self.error(&list.location, code, msg);
                    }
                }
            }
        }
        let mut files: HashSet<PathBuf> = inst.files.iter().cloned().collect();
        for ext in external.values() {
            if files.insert(ext.path.clone()) {
                inst.files.push(ext.path.clone());
            }
        }
        inst.external_lists = external;
        true
    }

    /// The items a `ref` stands for, following chains of refs (bounded, so a cycle ends).
    /// An id's values are built once and shared by every later ref to it.
    fn list_items(
        &mut self,
        written: &str,
        list: &ValueList,
        ids: &HashMap<String, (Target, Location)>,
        srcs: &Sources<'_>,
        depth: usize,
        external: &mut BTreeMap<String, ExternalList>,
    ) -> Result<(Shared, ListRef), RefError> {
        if depth > 16 {
            return Err(("bad-ref", format!("ref {written:?} is part of a cycle")));
        }
        let Some((target, _)) = ids.get(written) else {
            let shared = self.external(written, list, external)?;
            return Ok((shared, ListRef::External(written.to_owned())));
        };
        if let Target::Rule = target {
            return Err((
                "bad-ref",
                format!("ref {written:?} names a rule, not a list of values"),
            ));
        }
        if let Some(shared) = self.shared.get(written) {
            return Ok((shared.clone(), ListRef::Internal(written.to_owned())));
        }
        let shared = match srcs.get(written) {
            Some(Src::List(target)) => match &target.reference {
                Some(ListRef::Internal(next)) if target.items.is_empty() => {
                    self.list_items(next, target, ids, srcs, depth + 1, external)?
                        .0
                }
                _ => Shared {
                    weight: items_weight(&target.items),
                    items: target.items.clone(),
                },
            },
            Some(Src::Str(s)) => Shared {
                items: vec![Item::String((*s).clone())].into(),
                weight: 1,
            },
            Some(Src::Comp(c)) => Shared {
                weight: comp_weight(c),
                items: vec![Item::Compstring((*c).clone())].into(),
            },
            Some(Src::Header(h)) => match &h.body {
                HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) if ls.len() == 1 => Shared {
                    weight: items_weight(&ls[0].items),
                    items: ls[0].items.clone(),
                },
                HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => {
                    let items: Vec<Item> =
                        ls.iter().flat_map(|l| l.items.iter().cloned()).collect();
                    Shared {
                        weight: items_weight(&items),
                        items: items.into(),
                    }
                }
                HeaderBody::Compstrings(cs) => Shared {
                    weight: cs.iter().fold(0, |n, c| n.saturating_add(comp_weight(c))),
                    items: cs.iter().cloned().map(Item::Compstring).collect(),
                },
                HeaderBody::String(s) => Shared {
                    items: vec![Item::String(s.clone())].into(),
                    weight: 1,
                },
                HeaderBody::Empty => Shared {
                    items: Items::default(),
                    weight: 0,
                },
            },
            // The id space and the sources are built by the same walk.
            None => Shared {
                items: Items::default(),
                weight: 0,
            },
        };
        self.shared.insert(written.to_owned(), shared.clone());
        Ok((shared, ListRef::Internal(written.to_owned())))
    }

    /// Reads the external list `written` (once) and materialises its rows as string items
    /// (key as content, description as ilk), so stamp and verify treat it like a set. The
    /// items are built once and shared by every list naming the file.
    fn external(
        &mut self,
        written: &str,
        list: &ValueList,
        external: &mut BTreeMap<String, ExternalList>,
    ) -> Result<Shared, RefError> {
        if !self.lists.contains_key(written) {
            let loaded = self.load_external(written, list).map(|ext| {
                let location = xml::file_location(&ext.path);
                let items: Items = ext
                    .rows
                    .iter()
                    .filter_map(|row| {
                        Some(Item::String(StringValue {
                            content: Some(row.first()?.clone()),
                            ilk: row.get(1).cloned(),
                            location: location.clone(),
                            ..StringValue::default()
                        }))
                    })
                    .collect();
                let weight = items.len();
                (ext, Shared { items, weight })
            });
            self.lists.insert(written.to_owned(), loaded);
        }
        let Some(Some((ext, shared))) = self.lists.get(written) else {
            // Already reported when it was first read.
            return Ok(Shared {
                items: Items::default(),
                weight: 0,
            });
        };
        let shared = shared.clone();
        if !external.contains_key(written) {
            external.insert(written.to_owned(), ext.clone());
        }
        self.warn(
            &list.location,
            "ref-is-file",
            format!("ref {written:?} names a list file, not an id (Trustedbird extension)"),
        );
        let sep = list.facets.separator.as_deref().unwrap_or(",");
        let key = (written.to_owned(), sep.to_owned());
        if !self.bad_keys.contains_key(&key) {
            let mut bad = shared.items.iter().filter_map(|it| match it {
                Item::String(StringValue {
                    content: Some(k), ..
                }) if k.contains(sep) => Some(k),
                _ => None,
            });
            let found = bad.next().map(|first| (first.clone(), bad.count()));
            self.bad_keys.insert(key.clone(), found);
        }
        // One error per list however many keys are bad: a file of bad keys named by many
        // lists must not multiply the diagnostics.
        if let Some(Some((first, more))) = self.bad_keys.get(&key).cloned() {
            let more = match more {
                0 => String::new(),
                n => format!(" (and {n} more keys)"),
            };
            self.error(
                &list.location,
                "separator-in-key",
                format!(
                    "key {first:?} of {written} contains the list separator {sep:?}; it could not be read back{more}"
                ),
            );
        }
        Ok(shared)
    }

    fn load_external(&mut self, written: &str, list: &ValueList) -> Option<ExternalList> {
        let rel = match confined(written) {
            Ok(rel) => rel,
            Err(msg) => {
                self.error(&list.location, "path-escape", format!("ref {msg}"));
                return None;
            }
        };
        let path = self.base.join(rel);
        if !self.source.is_file(&path) {
            self.error(
                &list.location,
                "dangling-ref",
                format!(
                    "ref {written:?} names no id of the instance and no file ({})",
                    path.display()
                ),
            );
            return None;
        }
        if let Some(real) = self.source.escapes(&self.base, &path) {
            self.error(
                &list.location,
                "path-escape",
                format!(
                    "ref {written:?} resolves to {} through a symbolic link, outside the instance's directory",
                    real.display()
                ),
            );
            return None;
        }
        let doc = match parse::read_doc(self.source, &path) {
            Ok(d) => d,
            Err(e) => {
                self.diags
                    .push(Diagnostic::error(e.location, e.code, e.message));
                return None;
            }
        };
        match parse::external_list(&doc) {
            Ok((ext, d)) => {
                self.diags.extend(d);
                Some(ext)
            }
            Err(e) => {
                self.diags
                    .push(Diagnostic::error(e.location, e.code, e.message));
                None
            }
        }
    }

    /// `linkedValue ref` must name a list of the instance. Run on the headers as declared,
    /// before refs are filled in; the own values of a list with a `ref` are skipped, as the
    /// ref replaces them.
    fn check_links(&mut self, inst: &Instance, ids: &HashMap<String, (Target, Location)>) {
        for h in &inst.headers {
            let mut nodes = Vec::new();
            declared_nodes(&h.body, &mut nodes);
            for n in nodes {
                let Node::Str(s) = n else { continue };
                for link in &s.links {
                    match ids.get(link) {
                        None => self.error(
                            &s.location,
                            "dangling-ref",
                            format!("linkedValue ref {link:?} names no id of the instance"),
                        ),
                        Some((Target::List, _)) => {}
                        Some((t, _)) => self.warn(
                            &s.location,
                            "bad-ref",
                            format!("linkedValue ref {link:?} names {}, not a set", t.what()),
                        ),
                    }
                }
            }
        }
    }

    fn check_rules(&mut self, inst: &Instance, ids: &HashMap<String, (Target, Location)>) {
        // Header names as they appear in rules, compared case-insensitively (RFC 5322 §1.2.2).
        let mut names: HashMap<String, usize> = HashMap::new();
        for (i, h) in inst.headers.iter().enumerate() {
            names.insert(h.name.to_ascii_lowercase(), i);
            if let Some(t) = &h.technical_name {
                names.insert(t.to_ascii_lowercase(), i);
            }
        }
        // Each header's closed values are built once, however many association rows name it.
        let mut closed = HashMap::new();
        for rule in &inst.rules {
            for kind in &rule.kinds {
                match kind {
                    RuleKind::Constraint { left, right, .. } => {
                        self.check_constraint(rule, left, right, ids);
                    }
                    RuleKind::Association { aliases } => {
                        for a in aliases {
                            let dep =
                                self.known_header(rule, &a.header_name, &names, "association");
                            let ctl = match &a.header_ref {
                                Some(r) => self.known_header(rule, r, &names, "association"),
                                None => None,
                            };
                            self.check_association_values(rule, a, dep, ctl, inst, &mut closed);
                        }
                    }
                    RuleKind::Compatibility { aliases, .. }
                    | RuleKind::SecurityLabel { aliases }
                    | RuleKind::Pictures { aliases, .. } => {
                        for a in aliases {
                            if let Some(r) = &a.header_ref {
                                self.known_header(rule, r, &names, "rule");
                            }
                        }
                    }
                    RuleKind::Special { aliases } => {
                        for a in aliases {
                            self.known_header(rule, &a.header_name, &names, "special rule");
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn check_constraint(
        &mut self,
        rule: &Rule,
        left: &str,
        right: &str,
        ids: &HashMap<String, (Target, Location)>,
    ) {
        // Empty operands were reported as missing attributes already.
        if !left.is_empty() {
            match ids.get(left) {
                None => self.error(
                    &rule.location,
                    "dangling-ref",
                    format!("constraint left {left:?} names no id of the instance"),
                ),
                Some((Target::Header, _)) => {}
                Some((t, _)) => self.warn(
                    &rule.location,
                    "bad-ref",
                    format!("constraint left {left:?} names {}, not a header", t.what()),
                ),
            }
        }
        if !right.is_empty() {
            match ids.get(right) {
                None => self.error(
                    &rule.location,
                    "dangling-ref",
                    format!("constraint right {right:?} names no id of the instance"),
                ),
                Some((Target::Value, _)) => {}
                Some((t, _)) => self.warn(
                    &rule.location,
                    "bad-ref",
                    format!("constraint right {right:?} names {}, not a value", t.what()),
                ),
            }
        }
    }

    fn known_header(
        &mut self,
        rule: &Rule,
        name: &str,
        names: &HashMap<String, usize>,
        what: &str,
    ) -> Option<usize> {
        let found = names.get(&name.to_ascii_lowercase()).copied();
        if found.is_none() && !name.is_empty() {
            self.warn(
                &rule.location,
                "unknown-header",
                format!("{what} names header {name:?}, which the instance does not define"),
            );
        }
        found
    }

    /// Association tables list wire values; a value the header cannot take is a typo.
    fn check_association_values(
        &mut self,
        rule: &Rule,
        alias: &AliasHeader,
        dependent: Option<usize>,
        controlling: Option<usize>,
        inst: &Instance,
        closed: &mut HashMap<usize, Option<Rc<HashSet<String>>>>,
    ) {
        let mut values = |i: Option<usize>| -> Option<Rc<HashSet<String>>> {
            let i = i?;
            closed
                .entry(i)
                .or_insert_with(|| inst.headers.get(i).and_then(closed_values).map(Rc::new))
                .clone()
        };
        let dep = values(dependent);
        let ctl = values(controlling);
        for v in &alias.values {
            if let (Some(ctl), Some(r)) = (&ctl, &v.value_ref)
                && !ctl.contains(r.trim())
            {
                self.warn(
                    &rule.location,
                    "unknown-value",
                    format!(
                        "association valueRef {r:?} is not a value of {}",
                        alias.header_ref.as_deref().unwrap_or_default()
                    ),
                );
            }
            if let (Some(dep), Some(names)) = (&dep, &v.value_name) {
                for token in names.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if !dep.contains(token) {
                        self.warn(
                            &rule.location,
                            "unknown-value",
                            format!(
                                "association valueName {token:?} is not a value of {}",
                                alias.header_name
                            ),
                        );
                    }
                }
            }
        }
    }

    /// `ihm` headerRefs name header ids; a dangling one only hides a header in Trustedbird.
    fn check_ihm(
        &mut self,
        inst: &Instance,
        ids: &HashMap<String, (Target, Location)>,
        loc: &Location,
    ) {
        let Some(ihm) = &inst.ihm else { return };
        let referenced: HashSet<&str> = ihm.header_refs.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        for r in ihm.header_refs.iter().chain(&ihm.tree_rcv) {
            if !matches!(ids.get(r), Some((Target::Header, _))) && seen.insert(r.clone()) {
                self.warn(
                    loc,
                    "unknown-header",
                    format!("ihm headerRef {r:?} names no header id of the instance"),
                );
            }
        }
        // Trustedbird renders, and so sends, only headers the ihm references (plus hidden
        // ones): Amoco's precedence headers are declared mandatory yet never sent (trap 6).
        // ximf stamps and checks every header, so say where the two differ.
        for h in &inst.headers {
            if !h.is_hidden() && !referenced.contains(h.id.as_str()) {
                self.warn(
                    &h.location,
                    "not-in-ihm",
                    format!(
                        "header {} is not referenced by the ihm: Trustedbird never offers or sends it, ximf does",
                        h.name
                    ),
                );
            }
        }
    }
}

/// The wire values a header can take, when they form a closed list (no editable text).
fn closed_values(h: &HeaderDef) -> Option<HashSet<String>> {
    let mut nodes = Vec::new();
    body_nodes(&h.body, &mut nodes);
    let mut out = HashSet::new();
    for n in nodes {
        match n {
            Node::Str(s) if s.editable => return None,
            Node::Str(s) => {
                if let Some(c) = &s.content {
                    out.insert(c.clone());
                }
            }
            Node::Comp(c) => {
                if let Some(c) = &c.content {
                    out.insert(c.clone());
                }
            }
            Node::List(_) => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A value node, for walks over a header's value tree.
enum Node<'a> {
    List(&'a ValueList),
    Str(&'a StringValue),
    Comp(&'a Comp),
}

/// Every value node of a header's value tree, own values of lists with a `ref` included.
fn body_nodes<'a>(body: &'a HeaderBody, out: &mut Vec<Node<'a>>) {
    walk_nodes(body, false, out);
}

/// The value nodes a header declares and keeps: the own values of a list with a `ref` are
/// left out (the ref replaces them), and so are, after resolution, the values a ref brought in.
fn declared_nodes<'a>(body: &'a HeaderBody, out: &mut Vec<Node<'a>>) {
    walk_nodes(body, true, out);
}

fn walk_nodes<'a>(body: &'a HeaderBody, skip_refs: bool, out: &mut Vec<Node<'a>>) {
    match body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => {
            for l in ls {
                list_nodes(l, skip_refs, out);
            }
        }
        HeaderBody::Compstrings(cs) => {
            for c in cs {
                comp_nodes(c, skip_refs, out);
            }
        }
        HeaderBody::String(s) => out.push(Node::Str(s)),
        HeaderBody::Empty => {}
    }
}

fn list_nodes<'a>(l: &'a ValueList, skip_refs: bool, out: &mut Vec<Node<'a>>) {
    out.push(Node::List(l));
    if skip_refs && l.reference.is_some() {
        return;
    }
    for item in &l.items {
        match item {
            Item::String(s) => out.push(Node::Str(s)),
            Item::Compstring(c) => comp_nodes(c, skip_refs, out),
        }
    }
}

fn comp_nodes<'a>(c: &'a Comp, skip_refs: bool, out: &mut Vec<Node<'a>>) {
    out.push(Node::Comp(c));
    match &c.child {
        CompChild::None => {}
        CompChild::String(s) => out.push(Node::Str(s)),
        CompChild::List(l) => list_nodes(l, skip_refs, out),
        CompChild::Nested(cs) => {
            for c in cs {
                comp_nodes(c, skip_refs, out);
            }
        }
    }
}

/// Every list with a `ref` in a header's value tree, in the order [`body_lists_mut`] gives.
fn body_lists<'a>(body: &'a HeaderBody, out: &mut Vec<&'a ValueList>) {
    match body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => {
            for l in ls {
                list_lists(l, out);
            }
        }
        HeaderBody::Compstrings(cs) => {
            for c in cs {
                comp_lists(c, out);
            }
        }
        HeaderBody::String(_) | HeaderBody::Empty => {}
    }
}

fn list_lists<'a>(l: &'a ValueList, out: &mut Vec<&'a ValueList>) {
    if l.reference.is_some() {
        out.push(l);
        return;
    }
    for item in &l.items {
        if let Item::Compstring(c) = item {
            comp_lists(c, out);
        }
    }
}

fn comp_lists<'a>(c: &'a Comp, out: &mut Vec<&'a ValueList>) {
    match &c.child {
        CompChild::List(l) => list_lists(l, out),
        CompChild::Nested(cs) => {
            for c in cs {
                comp_lists(c, out);
            }
        }
        CompChild::None | CompChild::String(_) => {}
    }
}

/// Every list with a `ref` of a header's value tree, mutable, so refs can be filled in.
fn body_lists_mut<'a>(body: &'a mut HeaderBody, out: &mut Vec<&'a mut ValueList>) {
    match body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => {
            for l in ls {
                list_lists_mut(l, out);
            }
        }
        HeaderBody::Compstrings(cs) => {
            for c in cs {
                comp_lists_mut(c, out);
            }
        }
        HeaderBody::String(_) | HeaderBody::Empty => {}
    }
}

fn list_lists_mut<'a>(l: &'a mut ValueList, out: &mut Vec<&'a mut ValueList>) {
    // Lists nested in a referencing list's own items are dropped with it, so only a list
    // without a ref is walked into.
    if l.reference.is_some() {
        out.push(l);
        return;
    }
    // Only compstrings hold lists; a list without one is left shared.
    if !l.items.iter().any(|i| matches!(i, Item::Compstring(_))) {
        return;
    }
    // Copied if shared: the refs that named this list keep its values as declared.
    for item in l.items.make_mut() {
        if let Item::Compstring(c) = item {
            comp_lists_mut(c, out);
        }
    }
}

fn comp_lists_mut<'a>(c: &'a mut Comp, out: &mut Vec<&'a mut ValueList>) {
    match &mut c.child {
        CompChild::List(l) => list_lists_mut(l, out),
        CompChild::Nested(cs) => {
            for c in cs {
                comp_lists_mut(c, out);
            }
        }
        CompChild::None | CompChild::String(_) => {}
    }
}
