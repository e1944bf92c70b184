"""The multi-language relocation benchmark: tree-sitter ground truth per language, on small inline sources.

Nothing here downloads: archives are built in a temporary folder.
"""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from relocbench import languages, report
from relocbench.history import History, Stats
from relocbench.releases import PACKAGES, Package, cached_archive, read_sources
from relocbench.score import score_pair
from relocbench.syntax import LANGUAGES
from relocbench.truth import Case, Expected, Module, parse_module
from tests.bench.truth_cases import by_label, cases_of, src


def parsed(language: str, text: str, path: str = "") -> Module:
    grammar = LANGUAGES[language]
    module = grammar.parse(path or f"m{grammar.extensions[0]}", text)
    assert module is not None
    return module


def definitions(module: Module) -> dict[str, tuple[int, int]]:
    return {d.qualname: (d.line, d.end) for d in module.definitions}


def owners(module: Module) -> dict[str, str]:
    return {s.dump.partition(":")[2]: s.owner for s in module.statements if s.owner}


def cases_between(language: str, old: str, new: str, path: str = "") -> list[Case]:
    path = path or f"m{LANGUAGES[language].extensions[0]}"
    return cases_of(parsed(language, old, path), parsed(language, new, path), path)


JAVASCRIPT = src(
    """
    const helper = require("./helper");

    function parse(text) {
      const parts = text.split(",");
      return parts;
    }

    app.init = function init() {
      this.cache = {};
      if (this.enabled) {
        this.start();
      }
    };

    class Router extends Base {
      @traced
      route(path,
            options) {
        this.stack.push(path);
      }
      get size() { return this.stack.length; }
      set size(value) { this.limit = value; }
      handle = (req) => {
        dispatch(req);
      };
    }

    const square = (x) => x * x;
    """
)


def test_javascript_definitions_and_statements() -> None:
    module = parsed("javascript", JAVASCRIPT)
    assert definitions(module) == {
        "parse": (3, 6),
        "app.init": (8, 13),
        "Router": (15, 26),
        "Router.route": (17, 20),  # the decorator's line is not the def line
        "Router.get size": (21, 21),
        "Router.set size": (22, 22),
        "Router.handle": (23, 25),
    }
    route = next(d for d in module.definitions if d.qualname == "Router.route")
    assert route.header_end == 18  # the wrapped parameter list
    assert owners(module) == {
        'constparts=text.split(",");': "parse",
        "returnparts;": "parse",
        "this.cache={};": "app.init",
        "this.start();": "app.init",  # inside the if: looked into, like Python's compound statements
        "this.stack.push(path);": "Router.route",
        "dispatch(req);": "Router.handle",
    }


def test_typescript_definitions_skip_signatures_and_declarations() -> None:
    module = parsed(
        "typescript",
        src(
            """
            export interface Props<T> { value: T }
            export enum Color { Red, Green }
            export function over(a: string): void;
            export function over(a: any): void {
              go(a);
            }
            export abstract class Store<T> {
              abstract load(): void;
              protected static async read<T>(id: string): Promise<T> {
                const found = await fetch(id) as Response;
                return found.json() as T;
              }
            }
            export namespace Tools {
              export function tool() {}
            }
            """
        ),
    )
    assert definitions(module) == {
        "Props": (1, 1),
        "Color": (2, 2),
        "over": (4, 6),  # the overload signature is no definition: the name stays unique
        "Store": (7, 13),
        "Store.read": (9, 12),
        "Tools": (14, 16),
        "Tools.tool": (15, 15),
    }
    assert owners(module)["returnfound.json()asT;"] == "Store.read"
    assert LANGUAGES["typescript"].accepts("src/a.ts")
    assert LANGUAGES["typescript"].accepts("src/view.tsx")
    assert not LANGUAGES["typescript"].accepts("dist/a.d.ts")
    tsx = parsed("typescript", "export const View = () => {\n  return <div>{label}</div>;\n};\n", "v.tsx")
    assert definitions(tsx) == {"View": (1, 3)}


def test_css_rule_sets_at_rules_and_declarations() -> None:
    module = parsed(
        "css",
        src(
            """
            /* buttons */
            .btn,
            .btn-primary {
              color: red;
              margin: 0 auto;
            }
            @media (min-width: 576px) {
              .container { max-width: 540px; }
            }
            @keyframes spin {
              from { transform: rotate(0deg); }
            }
            """
        ),
    )
    assert definitions(module) == {
        ".btn, .btn-primary": (2, 6),
        "@media (min-width: 576px)": (7, 9),
        "@media (min-width: 576px) › .container": (8, 8),
        "@keyframes spin": (10, 12),
        "@keyframes spin › from": (11, 11),
    }
    rule = module.definitions[0]
    assert (rule.header_end, rule.body_line) == (3, 4)  # the selector list is the header
    assert owners(module) == {"color:red;": ".btn, .btn-primary", "margin:0auto;": ".btn, .btn-primary"}


def test_c_functions_structs_typedefs_and_preprocessor() -> None:
    module = parsed(
        "c",
        src(
            """
            struct point { int x; };
            typedef struct { int y; } size_t2;
            static PyObject *
            do_it(PyObject *self,
                  PyObject *args)
            {
                int x = 1;
                if (x) {
                    x++;
                }
            #ifdef DEBUG
                trace(x);
            #endif
                switch (x) { case 1: one(); break; }
                return NULL;
            }
            #ifdef FAST
            int pick(void) { return 1; }
            #else
            int pick(void) { return 2; }
            #endif
            """
        ),
    )
    found = definitions(module)
    assert found["struct point"] == (1, 1)
    assert found["size_t2"] == (2, 2)
    assert found["do_it"] == (4, 16)  # the line naming it, not ``static PyObject *`` above
    do_it = next(d for d in module.definitions if d.qualname == "do_it")
    assert do_it.header_end == 6  # the wrapped parameters up to the brace
    assert Counter(d.qualname for d in module.definitions)["pick"] == 2  # not unique: no anchors
    statements = owners(module)
    assert statements["intx=1;"] == "do_it"
    assert statements["x++;"] == "do_it"
    assert statements["trace(x);"] == "do_it"
    # ``case 1: one(); break;`` shares its line with the switch: none of it is a statement anchor.
    assert "one();" not in statements


def test_cpp_namespaces_classes_methods_and_out_of_class_definitions() -> None:
    module = parsed(
        "cpp",
        src(
            """
            namespace green {
            template <typename T>
            class Box : public Base {
            public:
                Box(int a) : a_(a) {}
                int get() const { return a_; }
                Box& operator=(const Box&) = default;
                void run();
            };
            template <typename T>
            void Box<T>::run()
            {
                for (auto& item : items_) {
                    use(item);
                }
                auto f = [&](int x) { return x + 1; };
            }
            }
            """
        ),
        "m.hpp",
    )
    assert definitions(module) == {
        "green": (1, 18),
        "green::Box": (3, 9),
        "green::Box::Box": (5, 5),
        "green::Box::get": (6, 6),
        "green::Box<T>::run": (11, 17),
    }
    assert owners(module)["use(item);"] == "green::Box<T>::run"
    assert owners(module)["autof=[&](intx){returnx+1;};"] == "green::Box<T>::run"


def test_rust_items_impls_and_block_expressions() -> None:
    module = parsed(
        "rust",
        src(
            """
            #[derive(Debug)]
            pub struct Point { x: i32 }
            impl fmt::Display for Point {
                fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    write!(f, "{}", self.x)
                }
            }
            impl Point {
                /// Makes one.
                #[inline]
                pub fn new(x: i32) -> Self {
                    let y = x + 1;
                    match y {
                        1 => one(),
                        _ => {
                            other();
                        }
                    }
                    Self { x: y }
                }
            }
            mod inner {
                fn hidden() {}
            }
            """
        ),
    )
    assert definitions(module) == {
        "Point": (2, 2),  # the attribute's line is not the def line
        "<impl fmt::Display for Point>": (3, 7),
        "<impl fmt::Display for Point>::fmt": (4, 6),
        "<impl Point>": (8, 21),
        "<impl Point>::new": (11, 20),
        "inner": (22, 24),
        "inner::hidden": (23, 23),
    }
    assert owners(module) == {
        'write!(f,"{}",self.x)': "<impl fmt::Display for Point>::fmt",
        "lety=x+1;": "<impl Point>::new",
        "1=>one(),": "<impl Point>::new",
        "other();": "<impl Point>::new",
        "Self{x:y}": "<impl Point>::new",
    }


def test_statement_dump_ignores_comments_and_wrapping() -> None:
    old = parsed("javascript", "function f() {\n  call(a, /* first */ b);\n}\n")
    new = parsed("javascript", "function f() {\n  call(\n    a,\n    b,\n  );\n}\n")
    assert old.statements[0].dump == "expression_statement:call(a,b);"
    assert new.statements[0].dump == "expression_statement:call(a,b,);"
    wrapped = parsed("javascript", "function f() {\n  call(\n    a, b);\n}\n")
    assert wrapped.statements[0].dump == old.statements[0].dump


def test_a_statement_sharing_its_line_with_an_if_is_no_anchor() -> None:
    module = parsed("typescript", "function f(x: number) {\n  if (x > 1) die(5)\n  done()\n}\n")
    assert [s.dump for s in module.statements] == ["expression_statement:done()"]


def test_categories_in_place_moved_edited_and_deleted() -> None:
    old = src(
        """
        function first(a) {
          const value = a + 1;
          return value * 2;
        }

        function second(b) {
          return b - 1;
        }

        function doomed(path) {
          const handle = openFile(path);
          handle.write("bytes that nobody keeps");
          handle.close();
        }
        """
    )
    new = src(
        """
        function second(b) {
          return b - 1;
        }

        function first(a) {
          const value = a + 1;
          return value * 3;
        }
        """
    )
    cases = cases_between("javascript", old, new)
    lines = by_label(cases, "def line")
    assert lines["first"].expected == Expected("m.js", 5, 5, 5)
    assert lines["first"].edited
    assert lines["second"].expected == Expected("m.js", 1, 1, 1)
    assert lines["first"].moved != lines["second"].moved  # one of the two swapped places
    assert lines["doomed"].expected is None
    statements = by_label(cases, "statement")
    assert statements["first: constvalue=a+1;"].expected == Expected("m.js", 6, 6, 6)
    assert not any("value*2" in label for label in statements)  # its dump changed


def test_css_rule_refined_by_a_pseudo_class_is_not_deleted() -> None:
    old = "nav ul li {\n  padding-start: 0;\n  padding: 0;\n}\n.keep { color: red; }\n"
    new = "nav ul li:not(:first-child) {\n  margin-start: 1rem;\n}\n.keep { color: red; }\n"
    cases = cases_between("css", old, new)
    assert "nav ul li" not in by_label(cases, "def line")
    assert by_label(cases, "def line")[".keep"].expected == Expected("m.css", 4, 4, 4)


def test_css_rule_whose_selector_lost_a_part_and_kept_some_declarations_is_not_deleted() -> None:
    old = src(
        """
        nav li:not(:last-child) a::after {
          padding-start: 0.5rem;
          padding-inline-start: 0.5rem;
          content: "/";
          color: gray;
        }
        .keep { color: red; }
        """
    )
    new = src(
        """
        nav li:not(:last-child) ::after {
          position: absolute;
          width: 2rem;
          margin-start: 1rem;
          margin-inline-start: 1rem;
          content: "/";
          color: gray;
          text-align: center;
        }
        .keep { color: red; }
        """
    )
    lines = by_label(cases_between("css", old, new), "def line")
    assert "nav li:not(:last-child) a::after" not in lines
    assert lines[".keep"].expected == Expected("m.css", 10, 10, 10)


def test_damaged_code_gives_no_anchors_and_hides_no_deletion() -> None:
    old = src(
        """
        int keep(void) {
            return 1;
        }
        int gone(int a) {
            int twice = a * 2;
            return twice + 7;
        }
        """
    )
    # The function is still there, but in a part the parser cannot read (an unbalanced macro).
    new = src(
        """
        int keep(void) {
            return 1;
        }
        MACRO( int gone(int a) {
            int twice = a * 2;
            return twice + 7;
        }
        """
    )
    module = parsed("c", new)
    assert module.unparsed
    assert "gone" not in definitions(module)
    cases = cases_between("c", old, new)
    assert "gone" not in by_label(cases, "def line")
    assert by_label(cases, "def line")["keep"].expected == Expected("m.c", 1, 1, 1)


def _archive(path: Path, top: str, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_read_sources_keeps_the_packages_own_code(tmp_path: Path) -> None:
    package = Package("@scope/lib", "typescript", "npm", ("1.0.0",), ("src/",), exclude=(".test.",))
    folder = tmp_path / "npm"
    folder.mkdir()
    archive = _archive(
        folder / "scope-lib-1.0.0.tgz",
        "package",
        {
            "src/index.ts": "export const a = 1;\r\n",
            "src/types.d.ts": "export declare const a: number;\n",
            "src/index.test.ts": "test();\n",
            "src/bundle.ts": "x" * 3000 + "\n",
            "dist/index.js": "exports.a = 1;\n",
        },
    )
    assert cached_archive(tmp_path, package, "1.0.0") == archive
    assert cached_archive(tmp_path, package, "1.0.1") is None
    assert read_sources(package, archive) == {"src/index.ts": "export const a = 1;\n"}
    sdist = Package("pydantic-core", "rust", "pypi", ("2.0.0",), ("src/",))
    (tmp_path / "pypi").mkdir()
    rust = {"src/lib.rs": "fn a() {}\n"}
    _archive(tmp_path / "pypi" / "pydantic_core-2.0.0.tar.gz", "pydantic_core-2.0.0", rust)
    found = cached_archive(tmp_path, sdist, "2.0.0")
    assert found is not None
    assert read_sources(sdist, found) == {"src/lib.rs": "fn a() {}\n"}


def test_pinned_packages() -> None:
    by_language: dict[str, Counter[bool]] = {}
    for package in PACKAGES:
        assert package.language in LANGUAGES
        assert len(package.versions) >= 6, package.name  # distance 5 needs six releases
        assert len(set(package.versions)) == len(package.versions)
        by_language.setdefault(package.language, Counter())[package.held_out] += 1
    assert set(by_language) == set(LANGUAGES)
    for counts in by_language.values():
        assert counts[False] == 5
        assert counts[True] == 2
    quick = languages.select(list(LANGUAGES), None, quick=True)
    assert {package.language for package in quick} == set(LANGUAGES)
    assert languages.parse_languages("all") == list(LANGUAGES)
    assert languages.parse_languages("rust, css") == ["css", "rust"]
    with pytest.raises(ValueError, match="unknown language"):
        languages.parse_languages("cobol")
    with pytest.raises(ValueError, match="not in the languages"):
        languages.select(["css"], ["express"], quick=False)


def test_history_scores_a_language_and_reports_it() -> None:
    old = src(
        """
        fn keep() -> i32 {
            1
        }

        fn grow(a: i32) -> i32 {
            let b = a * 2;
            b + 1
        }
        """
    )
    new = src(
        """
        fn added() -> i32 {
            5
        }

        fn keep() -> i32 {
            1
        }

        fn grow(a: i32) -> i32 {
            let b = a * 2;
            b + 1
        }
        """
    )
    grammar = LANGUAGES["rust"]
    history = History("demo", ["1", "2"], {"1": {"lib.rs": old}, "2": {"lib.rs": new}}, parse=grammar.parse)
    pairs = list(history.file_pairs(1, Stats()))
    assert len(pairs) == 1
    results = score_pair(pairs[0], keep=5)
    assert results.anchors == len(pairs[0].cases) == 7  # two def lines, two ranges, three statements
    assert results.tally("engine", "def line · same · in place").correct == 2
    assert results.tally("same line", "def line · same · in place").correct == 0
    targets = report.language_targets({1: results})
    assert targets[0].name == "exact on surviving code, distance 1"
    assert targets[0].value == 100.0
    table = report.language_table("Rust", {1: results}, {})
    assert "def line · same · in place" in table
    assert "surviving (all but deleted)" in table
    matrix = report.targets_matrix([("Rust", targets, results.anchors)])
    assert "100.00 ok (7)" in matrix


def test_a_name_left_on_other_code_while_another_rule_took_the_old_one_is_ambiguous() -> None:
    colours = "".join(f"  --colour-{i}: #{i:06x};\n" for i in range(8))
    old = f":root {{\n{colours}}}\n.box {{ color: red; }}\n"
    breakpoints = ":root {\n  --small: 576px;\n}\n"
    new = f":root,\n[data-theme=light] {{\n{colours}}}\n.box {{ color: red; }}\n{breakpoints}"
    lines = by_label(cases_between("css", old, new), "def line")
    assert ":root" not in lines  # the new ``:root`` holds breakpoints; the colours went to another rule
    assert lines[".box"].expected == Expected("m.css", 12, 12, 12)


def test_a_name_left_on_other_code_while_a_new_rule_of_another_file_took_the_old_one_is_ambiguous() -> None:
    colours = "".join(f"  --colour-{i}: #{i:06x};\n" for i in range(8))
    old_grid = parsed("css", f":root {{\n{colours}}}\n.row {{ display: flex; }}\n", "grid.css")
    new_grid = parsed("css", ":root {\n  --small: 576px;\n}\n.row { display: flex; }\n", "grid.css")
    theme = parsed("css", f":root,\n[data-theme=light] {{\n{colours}}}\n", "theme.css")

    def grid_lines(changed: frozenset[str], old_theme: Module | None = None) -> dict[str, Case]:
        cases = cases_of(
            old_grid,
            new_grid,
            "grid.css",
            new_others={"theme.css": theme},
            old_others={"theme.css": old_theme} if old_theme else None,
            changed=changed,
        )
        return by_label(cases, "def line")

    # The colours went to a rule of a file changed in this version: either rule could be the answer.
    lines = grid_lines(frozenset({"grid.css", "theme.css"}))
    assert ":root" not in lines
    assert lines[".row"].expected == Expected("grid.css", 4, 4, 4)
    # A file the version did not touch is no place the code went: the name's new code is the answer.
    assert grid_lines(frozenset({"grid.css"}))[":root"].expected == Expected("grid.css", 1, 1, 1)
    # Nor is a rule that the other file had before: it was alike already, nothing went there.
    before = parsed("css", f":root,\n[data-theme=light] {{\n{colours}  --old: 0;\n}}\n", "theme.css")
    both = frozenset({"grid.css", "theme.css"})
    assert grid_lines(both, before)[":root"].expected == Expected("grid.css", 1, 1, 1)


def test_short_code_alike_by_chance_in_another_file_leaves_the_namesake_its_answer() -> None:
    old = parse_module("def location(self):\n    return (self.fspath, None, self.fspath)\n")
    new = parse_module(
        "def location(  # type: ignore[override]\n    self,\n"
        ") -> Optional[Tuple[str, Optional[int], str]]:\n    return (self.fspath, None, self.fspath)\n"
    )
    # Alike character by character (a ratio over 0.5), unrelated: what two-line functions often are.
    other = parse_module("def __next__(self) -> str:\n    return self.readline()\n")
    assert old is not None
    assert new is not None
    assert other is not None
    cases = cases_of(old, new, "m.py", new_others={"o.py": other})
    assert by_label(cases, "def line")["location"].expected == Expected("m.py", 1, 1, 3)


def test_closing_brackets_shared_with_a_new_function_elsewhere_leave_the_namesake_its_answer() -> None:
    old = parsed(
        "javascript",
        src(
            """
        function prepareCopy(state) {
          if (!state.copy_) {
            state.copy_ = shallowCopy(state.base_)
          }
        }
        """
        ),
    )
    new = parsed(
        "javascript",
        src(
            """
        function prepareCopy(
          state,
          strict
        ) {
          if (!state.copy_) {
            state.copy_ = shallowCopy(
              state.base_,
              strict
            )
          }
        }
        """
        ),
    )
    # Three of its five lines are here too, two of them closing brackets: the code did not go there.
    other = parsed(
        "javascript",
        src(
            """
        function prepareMapCopy(state) {
          if (!state.copy_) {
            state.copy_ = new Map(state.base_)
          }
        }
        """
        ),
        "o.js",
    )
    cases = cases_of(old, new, "m.js", new_others={"o.js": other})
    assert by_label(cases, "def line")["prepareCopy"].expected == Expected("m.js", 1, 1, 4)


def test_rust_code_moved_into_a_macro_is_not_deleted() -> None:
    old = src(
        """
        pub(crate) struct OwnedCertificate {
            data: pyo3::Py<pyo3::types::PyBytes>,
            value: Certificate,
        }
        fn keep() -> i32 {
            1
        }
        """
    )
    new = src(
        """
        self_cell::self_cell!(
            pub(crate) struct OwnedCertificate {
                owner: pyo3::Py<pyo3::types::PyBytes>,
                dependent: Certificate,
            }
        );
        fn keep() -> i32 {
            1
        }
        """
    )
    assert "pub(crate)structOwnedCertificate{" in parsed("rust", new).unparsed
    lines = by_label(cases_between("rust", old, new), "def line")
    assert "OwnedCertificate" not in lines
    assert lines["keep"].expected == Expected("m.rs", 7, 7, 7)


def test_a_function_turned_into_a_named_function_expression_is_not_deleted() -> None:
    old = src(
        """
        export function createSlice(options) {
          const name = options.name;
          if (!name) {
            throw new Error("a name is required");
          }
          return { name, reducer: options.reducer };
        }
        """
    )
    new = src(
        """
        export function buildCreateSlice(creators) {
          return function createSlice(options) {
            const name = options.name;
            if (!name) {
              throw new Error("`name` is required");
            }
            return { name, reducer: options.reducer, creators };
          };
        }
        """
    )
    assert "createSlice" in parsed("javascript", new).other_names
    assert "createSlice" not in by_label(cases_between("javascript", old, new), "def line")
