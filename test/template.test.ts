// Go's text/template as box's --format runs it: pure, no containers.
import { describe, expect, test } from "bun:test";
import { renderTemplate } from "../src/cli/template.ts";
import { goStruct } from "../src/cli/template-values.ts";
import { listFormat, renderList, tabwrite, humanSize, bytesSize } from "../src/cli/format.ts";

const data = { A: { B: "x", N: 3, F: 1.5, L: ["a", "b"], M: { k: "v", a: 1 }, E: [], Nil: null, T: true }, S: "hello world" };
const render = (t: string, d: unknown = data) => renderTemplate(t, d);
const failure = (t: string, d: unknown = data) => {
  try {
    render(t, d);
  } catch (e) {
    return (e as Error & { exitCode?: number }).exitCode === 125 ? (e as Error).message : `not a UserError: ${e}`;
  }
  return "no error";
};

describe("actions and values", () => {
  test("field paths, dot, and Go's printing of each kind", () => {
    expect(render("{{.A.B}} {{.A.N}} {{.A.F}} {{.A.T}}")).toBe("x 3 1.5 true");
    expect(render("{{.A.L}} {{.A.M}} {{.A.E}}")).toBe("[a b] map[a:1 k:v] []");
    expect(render("{{.A.Nil}}|{{.A.Missing}}")).toBe("<nil>|<no value>");
    expect(render("{{.}}", ["a", null])).toBe("[a <nil>]");
    expect(render("text only")).toBe("text only");
  });
  test("literals: strings, raw strings, numbers, chars, bools, nil as an argument", () => {
    expect(render('{{"a\\tb"}}|{{`raw\\n`}}|{{0x10}}|{{-3}}|{{1.25}}|{{\'a\'}}|{{false}}')).toBe("a\tb|raw\\n|16|-3|1.25|97|false");
    expect(render("{{1234567.5}}")).toBe("1.2345675e+06");
    expect(render("{{eq nil .A.Nil}}")).toBe("true");
  });
  test("variables: $, declarations, assignment, scope", () => {
    expect(render("{{$x := .A.N}}{{$x}}{{$x = 5}}{{$x}}")).toBe("35");
    expect(render("{{with .A}}{{$.S}}{{end}}")).toBe("hello world");
    expect(render("{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 3}}{{end}}{{$x}}")).toBe("2");
  });
  test("pipelines and parentheses", () => {
    expect(render("{{.S | upper}}")).toBe("HELLO WORLD");
    expect(render('{{.S | printf "%s!" | lower}}')).toBe("hello world!");
    expect(render("{{(index .A.L 1) | upper}}")).toBe("B");
    expect(render("{{(index .A.M \"k\")}}")).toBe("v");
    expect(render("{{len (split .S \" \")}}")).toBe("2");
  });
  test("trim markers and comments", () => {
    expect(render("a  {{- .A.B -}}  b")).toBe("axb");
    expect(render("a\n{{- /* gone */ -}}\nb{{/* too */}}")).toBe("ab");
    expect(render("{{-3}}")).toBe("-3");
  });
});

describe("control structures", () => {
  test("if / else if / else on Go's truth", () => {
    const t = "{{if eq .A.N 1}}one{{else if gt .A.N 2}}many{{else}}few{{end}}";
    expect(render(t)).toBe("many");
    expect(render("{{if .A.E}}y{{else}}n{{end}}{{if .A.M}}y{{end}}{{if .A.Missing}}y{{else}}n{{end}}{{if 0}}y{{else}}n{{end}}")).toBe("nyn" + "n");
  });
  test("with sets dot, with else", () => {
    expect(render("{{with .A}}{{.B}}{{end}}|{{with .A.E}}x{{else}}none{{end}}|{{with $v := .A.N}}{{$v}}{{end}}")).toBe("x|none|3");
    expect(render("{{with .A.Nil}}x{{else with .A.B}}{{.}}{{end}}")).toBe("x");
  });
  test("range over slices, maps (sorted keys), integers, nothing; else; break and continue", () => {
    expect(render("{{range .A.L}}<{{.}}>{{end}}")).toBe("<a><b>");
    expect(render("{{range $i, $v := .A.L}}{{$i}}={{$v}} {{end}}")).toBe("0=a 1=b ");
    expect(render("{{range $k, $v := .A.M}}{{$k}}:{{$v}} {{end}}")).toBe("a:1 k:v ");
    expect(render("{{range $v := .A.M}}{{$v}}{{end}}")).toBe("1v");
    expect(render("{{range 3}}{{.}}{{end}}")).toBe("012");
    expect(render("{{range .A.E}}x{{else}}empty{{end}}{{range .A.Nil}}x{{else}}nil{{end}}")).toBe("emptynil");
    expect(render('{{range .A.L}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}|{{range .A.L}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}')).toBe("b|a");
  });
});

describe("functions", () => {
  test("Go's builtins", () => {
    expect(render("{{and 1 0}} {{and 1 2}} {{or 0 \"\"}} {{or 0 \"x\"}} {{not .A.E}}")).toBe("0 2  x true");
    expect(render("{{eq .A.N 1 2 3}} {{ne .S \"x\"}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}}")).toBe("true true true true true false");
    expect(render("{{len .A.L}} {{len .A.M}} {{len \"héllo\"}}")).toBe("2 2 6");
    expect(render("{{index .A.L 0}} {{index .A.M \"k\"}} {{slice .S 0 5}} {{slice .A.L 1}}")).toBe("a v hello [b]");
    expect(render("{{print 1 2 \"a\" \"b\" 3}}|{{println \"x\" 1}}|")).toBe("1 2ab3|x 1\n|");
    expect(render('{{printf "%5s|%-3d|%.2f|%q|%v|%x|%05d|%t" "ab" 7 3.14159 "q" .A.L 255 42 true}}')).toBe("   ab|7  |3.14|\"q\"|[a b]|ff|00042|true");
  });
  test("and/or stop at the operand that decides them", () => {
    expect(render("{{if and .A.Nil .A.Nil.X}}y{{else}}n{{end}}")).toBe("n");
    expect(render("{{or .A.B .A.Nil.X}}")).toBe("x");
  });
  test("Docker's functions", () => {
    expect(render("{{json .A.L}} {{json .A.Missing}} {{json \"<&>\"}}")).toBe('["a","b"] null "<&>"');
    expect(render('{{join .A.L ", "}}|{{join .A.M "+"}}|{{join .A.Nil ","}}')).toBe("a, b|1+v|");
    expect(render('{{split "a:b:c" ":"}} {{lower "AbC"}} {{upper "abc"}} {{title "hello wide_world-x"}}')).toBe("[a b c] abc ABC Hello Wide_world-X");
    expect(render('[{{pad "x" 2 1}}][{{pad "" 2 1}}] {{truncate "abcdef" 3}} {{truncate "ab" 3}}')).toBe("[  x ][] abc ab");
  });
  test("index of a label a map lacks is empty, as Docker's typed labels", () => {
    expect(render('[{{index .Labels "nope"}}]', { Labels: { a: "b" } })).toBe("[]");
    expect(render('[{{index .Labels "nope"}}]', { Labels: null })).toBe("[]");
  });
});

describe("structs (Docker's formatter rows)", () => {
  const row = () => goStruct("*formatter.ContainerContext", { ID: "abc", Label: (k: string) => (k === "app" ? "web" : ""), get Size() { return "1B"; } });
  test("fields, methods with arguments, lazily computed fields; json of a row has sorted keys and no methods", () => {
    expect(render('{{.ID}} {{.Label "app"}} {{.Size}}', row())).toBe("abc web 1B");
    expect(render('{{"app" | .Label}}', row())).toBe("web");
    expect(render("{{json .}}", goStruct("T", { b: 1, a: 2, m: (_: string) => "" }))).toBe('{"a":2,"b":1}');
  });
  test("a field a struct lacks is an error naming its type", () => {
    expect(failure("{{.Nope}}", row())).toBe('template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext');
    expect(failure("{{.Label}}", row())).toContain("wrong number of args for Label: want 1 got 0");
    expect(failure("{{.ID 1}}", row())).toContain("ID has arguments but cannot be invoked as function");
  });
});

describe("errors: one line, exit 125, in Go's words", () => {
  test("parse errors", () => {
    expect(failure("{{nope}}")).toBe('template parsing error: template: :1: function "nope" not defined');
    expect(failure("{{.A")).toBe("template parsing error: template: :1: unclosed action");
    expect(failure("{{if .A}}x")).toBe("template parsing error: template: :1: unexpected EOF");
    expect(failure("{{end}}")).toBe("template parsing error: template: :1: unexpected {{end}}");
    expect(failure("x\n{{else}}")).toBe("template parsing error: template: :2: unexpected {{else}}");
    expect(failure("{{$y}}")).toBe('template parsing error: template: :1: undefined variable "$y"');
    expect(failure("{{}}")).toBe("template parsing error: template: :1: missing value for command");
    expect(failure("{{if}}{{end}}")).toBe("template parsing error: template: :1: missing value for if");
    expect(failure("{{break}}")).toBe("template parsing error: template: :1: {{break}} outside {{range}}");
    expect(failure("{{/* open")).toBe("template parsing error: template: :1: unclosed comment");
    expect(failure('{{"open}}')).toBe("template parsing error: template: :1: unterminated quoted string");
    expect(failure("{{(.A}}")).toBe("template parsing error: template: :1: unclosed left paren");
    expect(failure("{{.A | 3}}")).toBe("template parsing error: template: :1: non executable command in pipeline stage 2");
    expect(failure("{{@}}")).toBe("template parsing error: template: :1: bad character U+0040 '@'");
  });
  test("execution errors name the line, column and action", () => {
    expect(failure("{{upper .A.N}}")).toBe('template parsing error: template: :1:2: executing "" at <upper .A.N>: wrong type for value; expected string; got int');
    expect(failure("x\n  {{index .A.L 9}}")).toBe('template parsing error: template: :2:4: executing "" at <index .A.L 9>: error calling index: index out of range: 9');
    expect(failure('{{eq .A.N "x"}}')).toContain("error calling eq: incompatible types for comparison");
    expect(failure("{{.S.X}}")).toContain("can't evaluate field X in type string");
    expect(failure("{{.A.Nil.X}}")).toContain("nil pointer evaluating interface {}.X");
    expect(failure("{{range .S}}{{end}}")).toContain("range can't iterate over hello world");
    expect(failure("{{upper}}")).toContain("wrong number of args for upper: want 1 got 0");
    expect(failure("{{.A.B 1}}")).toContain("B is not a method but has arguments");
  });
  test("a missing key is an error where docker inspect's is", () => {
    expect(() => renderTemplate("{{.Nope}}", {}, { missingKey: "error" })).toThrow('map has no entry for key "Nope"');
  });
});

describe("listing formats", () => {
  const listing = { table: "table {{.ID}}\t{{.Name}}", headers: { ID: "CONTAINER ID", Name: "NAME" } };
  const rows = [goStruct("R", { ID: "abc", Name: "web", Label: (_: string) => "" }), goStruct("R", { ID: "defabcdef0123", Name: "db", Label: (_: string) => "" })];
  test("the default table: Docker's headers, columns at least 10 wide, 3 apart", () => {
    expect(renderList(listFormat(undefined, listing), rows, listing)).toBe("CONTAINER ID    NAME\nabc             web\ndefabcdef0123   db\n");
    expect(renderList(listFormat("table", listing), rows, listing)).toBe(renderList(listFormat(undefined, listing), rows, listing));
  });
  test("table TEMPLATE with literal \\t; header functions keep the column's name; Label's header is its last part", () => {
    const f = listFormat('table {{.Name}}\\t{{upper .ID}}\\t{{.Label "com.example.my-app"}}', listing);
    expect(renderList(f, rows, listing)).toBe("NAME      CONTAINER ID    my app\nweb       ABC             \ndb        DEFABCDEF0123   \n");
  });
  test("json: one object per row; a template: one line per row, \\n typed literally is a newline", () => {
    expect(renderList(listFormat("json", listing), rows, listing)).toBe('{"ID":"abc","Name":"web"}\n{"ID":"defabcdef0123","Name":"db"}\n');
    expect(renderList(listFormat("  {{.Name}}\\n-  ", listing), rows, listing)).toBe("web\n-\ndb\n-\n");
    expect(renderList(listFormat("plain", listing), rows, listing)).toBe("plain\nplain\n");
  });
  test("a bad template fails before any row is made", () => {
    expect(() => listFormat("{{.Name", listing)).toThrow("unclosed action");
  });
  test("tabwriter: a column spans the lines that have it; the last cell is not padded", () => {
    expect(tabwrite("a\tb\tc\nlonger-than-ten\tx\n")).toBe("a                 b         c\nlonger-than-ten   x\n");
  });
  test("sizes as go-units prints them", () => {
    expect([humanSize(0), humanSize(999), humanSize(1000), humanSize(4_260_000), humanSize(123_456_789), humanSize(999_500), humanSize(1_982_000, 4)]).toEqual(["0B", "999B", "1kB", "4.26MB", "123MB", "1e+03kB", "1.982MB"]);
    expect([bytesSize(116 * 1024), bytesSize(1.5 * 2 ** 20), bytesSize(25.27 * 2 ** 30)]).toEqual(["116KiB", "1.5MiB", "25.27GiB"]);
  });
});
