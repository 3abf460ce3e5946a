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
use crate::error::Location;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

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

    let base = files
        .headers
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Resolver {
        source,
        base,
        diags,
        lists: HashMap::new(),
    }
    .resolve(&mut inst, ihm_location);
    Some(inst)
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

/// What an id names.
#[derive(Debug, Clone)]
enum Target {
    Header(usize),
    List(Box<ValueList>),
    Value(Box<Item>),
    Rule,
}

impl Target {
    fn what(&self) -> &'static str {
        match self {
            Target::Header(_) => "a header",
            Target::List(_) => "a list",
            Target::Value(_) => "a value",
            Target::Rule => "a rule",
        }
    }
}

struct Resolver<'a> {
    source: Source,
    /// The headers file's directory: external lists are relative to it (spec §1.5).
    base: PathBuf,
    diags: &'a mut Vec<Diagnostic>,
    /// External lists already read, by `ref` as written (`None`: unusable, already reported).
    lists: HashMap<String, Option<ExternalList>>,
}

impl Resolver<'_> {
    fn error(&mut self, loc: &Location, code: &'static str, msg: String) {
        self.diags.push(Diagnostic::error(loc.clone(), code, msg));
    }

    fn warn(&mut self, loc: &Location, code: &'static str, msg: String) {
        self.diags.push(Diagnostic::warning(loc.clone(), code, msg));
    }

    fn resolve(mut self, inst: &mut Instance, ihm_location: Option<Location>) {
        let ids = self.index(inst);
        self.resolve_list_refs(inst, &ids);
        self.check_links(inst, &ids);
        self.check_rules(inst, &ids);
        if let Some(loc) = ihm_location {
            self.check_ihm(inst, &ids, &loc);
        }
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
        for (hi, h) in inst.headers.iter().enumerate() {
            add(&h.id, Target::Header(hi), &h.location, self);
            let mut nodes = Vec::new();
            body_nodes(&h.body, &mut nodes);
            for n in nodes {
                match n {
                    Node::List(l) => {
                        if let Some(id) = &l.id {
                            add(id, Target::List(Box::new(l.clone())), &l.location, self);
                        }
                    }
                    Node::Str(s) => {
                        if let Some(id) = &s.id {
                            add(
                                id,
                                Target::Value(Box::new(Item::String(s.clone()))),
                                &s.location,
                                self,
                            );
                        }
                    }
                    Node::Comp(c) => {
                        if let Some(id) = &c.id {
                            add(
                                id,
                                Target::Value(Box::new(Item::Compstring(c.clone()))),
                                &c.location,
                                self,
                            );
                        }
                    }
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
    /// the headers file (spec §1.5; trap 2).
    fn resolve_list_refs(
        &mut self,
        inst: &mut Instance,
        ids: &HashMap<String, (Target, Location)>,
    ) {
        let snapshot = inst.headers.clone();
        let mut external = BTreeMap::new();
        for h in &mut inst.headers {
            let mut lists = Vec::new();
            body_lists_mut(&mut h.body, &mut lists);
            for list in lists {
                let Some(ListRef::Internal(written)) = list.reference.clone() else {
                    continue;
                };
                if !list.items.is_empty() {
                    self.warn(
                        &list.location,
                        "ignored-element",
                        format!("list has both ref={written:?} and its own values; the ref wins"),
                    );
                }
                match self.list_items(&written, list, ids, &snapshot, 0, &mut external) {
                    Ok((items, reference)) => {
                        list.items = items;
                        list.reference = Some(reference);
                    }
                    Err(msg) => {
                        list.items.clear();
                        let code = msg.0;
                        self.error(&list.location, code, msg.1);
                    }
                }
            }
        }
        for ext in external.values() {
            if !inst.files.contains(&ext.path) {
                inst.files.push(ext.path.clone());
            }
        }
        inst.external_lists = external;
    }

    /// The items a `ref` stands for, following chains of refs (bounded, so a cycle ends).
    fn list_items(
        &mut self,
        written: &str,
        list: &ValueList,
        ids: &HashMap<String, (Target, Location)>,
        headers: &[HeaderDef],
        depth: usize,
        external: &mut BTreeMap<String, ExternalList>,
    ) -> Result<(Vec<Item>, ListRef), (&'static str, String)> {
        if depth > 16 {
            return Err(("bad-ref", format!("ref {written:?} is part of a cycle")));
        }
        let Some((target, _)) = ids.get(written) else {
            let items = self.external(written, list, external)?;
            return Ok((items, ListRef::External(written.to_owned())));
        };
        let items = match target {
            Target::List(target) => match &target.reference {
                Some(ListRef::Internal(next)) if target.items.is_empty() => {
                    self.list_items(next, target, ids, headers, depth + 1, external)?
                        .0
                }
                _ => target.items.clone(),
            },
            Target::Value(item) => vec![(**item).clone()],
            Target::Header(hi) => {
                let mut items = Vec::new();
                match headers.get(*hi).map(|h| &h.body) {
                    Some(HeaderBody::Sets(ls) | HeaderBody::Multisets(ls)) => {
                        for l in ls {
                            items.extend(l.items.iter().cloned());
                        }
                    }
                    Some(HeaderBody::Compstrings(cs)) => {
                        items.extend(cs.iter().cloned().map(Item::Compstring));
                    }
                    Some(HeaderBody::String(s)) => items.push(Item::String(s.clone())),
                    Some(HeaderBody::Empty) | None => {}
                }
                items
            }
            Target::Rule => {
                return Err((
                    "bad-ref",
                    format!("ref {written:?} names a rule, not a list of values"),
                ));
            }
        };
        Ok((items, ListRef::Internal(written.to_owned())))
    }

    /// Reads the external list `written` (once) and materialises its rows as string items
    /// (key as content, description as ilk), so stamp and verify treat it like a set.
    fn external(
        &mut self,
        written: &str,
        list: &ValueList,
        external: &mut BTreeMap<String, ExternalList>,
    ) -> Result<Vec<Item>, (&'static str, String)> {
        if !self.lists.contains_key(written) {
            let loaded = self.load_external(written, list);
            self.lists.insert(written.to_owned(), loaded);
        }
        let Some(Some(ext)) = self.lists.get(written).cloned() else {
            // Already reported when it was first read.
            return Ok(Vec::new());
        };
        self.warn(
            &list.location,
            "ref-is-file",
            format!("ref {written:?} names a list file, not an id (Trustedbird extension)"),
        );
        let sep = list.facets.separator.as_deref().unwrap_or(",");
        let mut items = Vec::new();
        for row in &ext.rows {
            let Some(key) = row.first() else { continue };
            if key.contains(sep) {
                self.error(
                    &list.location,
                    "separator-in-key",
                    format!(
                        "key {key:?} of {written} contains the list separator {sep:?}; it could not be read back"
                    ),
                );
            }
            items.push(Item::String(StringValue {
                content: Some(key.clone()),
                ilk: row.get(1).cloned(),
                location: list.location.clone(),
                ..StringValue::default()
            }));
        }
        external.insert(written.to_owned(), ext);
        Ok(items)
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

    /// `linkedValue ref` must name a list of the instance.
    fn check_links(&mut self, inst: &Instance, ids: &HashMap<String, (Target, Location)>) {
        for h in &inst.headers {
            let mut nodes = Vec::new();
            body_nodes(&h.body, &mut nodes);
            for n in nodes {
                let Node::Str(s) = n else { continue };
                for link in &s.links {
                    match ids.get(link) {
                        None => self.error(
                            &s.location,
                            "dangling-ref",
                            format!("linkedValue ref {link:?} names no id of the instance"),
                        ),
                        Some((Target::List(_), _)) => {}
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
                            self.check_association_values(rule, a, dep, ctl, inst);
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
                Some((Target::Header(_), _)) => {}
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
                Some((Target::Value(_), _)) => {}
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
    ) {
        let dep = dependent.and_then(|i| closed_values(inst.headers.get(i)?));
        let ctl = controlling.and_then(|i| closed_values(inst.headers.get(i)?));
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
        let mut seen = HashSet::new();
        for r in ihm.header_refs.iter().chain(&ihm.tree_rcv) {
            if !matches!(ids.get(r), Some((Target::Header(_), _))) && seen.insert(r.clone()) {
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
            if !h.is_hidden() && !ihm.header_refs.contains(&h.id) {
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

fn body_nodes<'a>(body: &'a HeaderBody, out: &mut Vec<Node<'a>>) {
    match body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => {
            for l in ls {
                list_nodes(l, out);
            }
        }
        HeaderBody::Compstrings(cs) => {
            for c in cs {
                comp_nodes(c, out);
            }
        }
        HeaderBody::String(s) => out.push(Node::Str(s)),
        HeaderBody::Empty => {}
    }
}

fn list_nodes<'a>(l: &'a ValueList, out: &mut Vec<Node<'a>>) {
    out.push(Node::List(l));
    for item in &l.items {
        match item {
            Item::String(s) => out.push(Node::Str(s)),
            Item::Compstring(c) => comp_nodes(c, out),
        }
    }
}

fn comp_nodes<'a>(c: &'a Comp, out: &mut Vec<Node<'a>>) {
    out.push(Node::Comp(c));
    match &c.child {
        CompChild::None => {}
        CompChild::String(s) => out.push(Node::Str(s)),
        CompChild::List(l) => list_nodes(l, out),
        CompChild::Nested(cs) => {
            for c in cs {
                comp_nodes(c, out);
            }
        }
    }
}

/// Every list of a header's value tree, mutable, so refs can be filled in.
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
    let mut inner = Vec::new();
    for item in &mut l.items {
        if let Item::Compstring(c) = item {
            comp_lists_mut(c, &mut inner);
        }
    }
    out.extend(inner);
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
