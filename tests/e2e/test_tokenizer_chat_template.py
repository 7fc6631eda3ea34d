"""Chat templates rendered by our Jinja interpreter (`qinfer tokenize --chat-jsonl`) against
Python jinja2 configured as transformers' apply_chat_template configures it: an
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loopcontrols, tojson as
json.dumps(ensure_ascii=False), raise_exception and strftime_now.
"""
import json
import os
import subprocess
from datetime import datetime

import jinja2
import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("QINFER_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
QINFER = os.environ.get("QINFER_BIN", os.path.join(SOURCE_DIR, "build", "apps", "qinfer"))
LLAMA3 = os.path.join(SHARED, "models", "llama3.1-tokenizer")
with open(os.path.join(SOURCE_DIR, "tests", "tokenizer", "data", "chat_templates.json")) as f:
    TEMPLATES = json.load(f)
with open(os.path.join(LLAMA3, "tokenizer_config.json")) as f:
    TEMPLATES["llama3.1"] = json.load(f)["chat_template"]


def reference_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


ENV = reference_env()


def reference(req):
    tmpl = ENV.from_string(req["template"])
    try:
        return {"text": tmpl.render(messages=req.get("messages", []), tools=req.get("tools"),
                                    documents=None,
                                    add_generation_prompt=req.get("add_generation_prompt", True),
                                    bos_token=req.get("bos_token", ""),
                                    eos_token=req.get("eos_token", ""), **req.get("kwargs", {}))}
    except jinja2.exceptions.TemplateError as e:
        return {"error": str(e)}


def ours(reqs):
    inp = "".join(json.dumps(r) + "\n" for r in reqs)
    p = subprocess.run([QINFER, "tokenize", "--chat-jsonl"], input=inp.encode(),
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return [json.loads(line) for line in p.stdout.decode().split("\n")[:-1]]


WEATHER = {"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "City and country, e.g. Zürich, CH"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}
SEARCH = {"type": "function", "function": {"name": "search", "description": "Search «the web»",
                                           "parameters": {"z": 1, "a": [1.5, 2e-7, 1e16, None, True]}}}
SYSTEM = {"role": "system", "content": "  You are a helpful assistant.\n"}
USER = {"role": "user", "content": "What's the weather in Zürich? 日本語も OK \"quoted\""}
ASSISTANT = {"role": "assistant", "content": "It is sunny. ☀️"}
USER2 = {"role": "user", "content": "And tomorrow?\n\n"}
TOOL_CALL = {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
    "name": "get_current_weather", "arguments": {"location": "Zürich, CH", "unit": "celsius"}}}]}
TOOL_RESULT = {"role": "tool", "content": "{\"temperature\": 21}"}
IPYTHON_DICT = {"role": "ipython", "content": {"temperature": 21, "sky": "clear"}}
BUILTIN_CALL = {"role": "assistant", "tool_calls": [{"type": "function", "function": {
    "name": "brave_search", "arguments": {"query": "weather in Menlo Park"}}}]}

LLAMA3_CASES = {
    "system": dict(messages=[SYSTEM, USER]),
    "no_system": dict(messages=[USER]),
    "multi_turn": dict(messages=[SYSTEM, USER, ASSISTANT, USER2]),
    "no_generation_prompt": dict(messages=[USER, ASSISTANT], add_generation_prompt=False),
    "tools_in_user_message": dict(messages=[SYSTEM, USER], tools=[WEATHER, SEARCH]),
    "tools_in_system": dict(messages=[SYSTEM, USER], tools=[WEATHER],
                            kwargs={"tools_in_user_message": False}),
    "builtin_tools": dict(messages=[SYSTEM, USER],
                          kwargs={"builtin_tools": ["brave_search", "wolfram_alpha", "code_interpreter"],
                                  "date_string": "23 Jul 2024"}),
    "tool_call_and_result": dict(messages=[USER, TOOL_CALL, TOOL_RESULT], tools=[WEATHER]),
    "ipython_dict_result": dict(messages=[USER, TOOL_CALL, IPYTHON_DICT], tools=[WEATHER]),
    "builtin_call": dict(messages=[SYSTEM, USER, BUILTIN_CALL, TOOL_RESULT],
                         kwargs={"builtin_tools": ["brave_search", "wolfram_alpha"]}),
    "custom_call_with_builtins": dict(messages=[USER, TOOL_CALL, TOOL_RESULT], tools=[WEATHER],
                                      kwargs={"builtin_tools": ["brave_search"]}),
    "error_tools_without_user": dict(messages=[SYSTEM], tools=[WEATHER]),
    "error_two_tool_calls": dict(messages=[USER, {"role": "assistant", "tool_calls": TOOL_CALL["tool_calls"] * 2}]),
}
OTHER_CASES = {
    "basic": dict(messages=[USER]),
    "system": dict(messages=[SYSTEM, USER]),
    "multi_turn": dict(messages=[USER, ASSISTANT, USER2]),
    "no_generation_prompt": dict(messages=[USER, ASSISTANT], add_generation_prompt=False),
    "error_roles_alternate": dict(messages=[USER, USER2]),
    "tools": dict(messages=[SYSTEM, USER, dict(TOOL_CALL, content=""), TOOL_RESULT, TOOL_RESULT],
                  tools=[WEATHER, SEARCH]),
}


def requests():
    reqs = []
    for name, case in LLAMA3_CASES.items():
        reqs.append(("llama3.1/" + name, dict(case, template=TEMPLATES["llama3.1"],
                                              bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")))
    for tname in ("llama2", "chatml", "mistral", "chatml_tools"):
        for name, case in OTHER_CASES.items():
            reqs.append((f"{tname}/{name}", dict(case, template=TEMPLATES[tname], bos_token="<s>",
                                                 eos_token="</s>")))
    return reqs


# Interpreter features beyond the templates above, each checked against jinja2.
FEATURES = [
    "{% for k, v in d | items %}{{ loop.index }}/{{ loop.length }}:{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% for x in xs if x is odd %}{{ loop.index0 }}{{ x }}{{ loop.revindex }}{% else %}empty{% endfor %}",
    "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
    "{% for x in xs %}{% if x > 2 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
    "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[-1] }} {{ s[2:5] }} {{ s[::-1] }}",
    "{{ s | upper }} {{ s | lower }} {{ s | length }} {{ s.strip() }}|{{ '  a b  ' | trim }}|{{ 'xxhixx'.strip('x') }}",
    "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }}",
    "{{ xs | join('-') }} {{ xs | first }} {{ xs | last }} {{ xs | length }} {{ xs | reverse | list }}",
    "{{ xs | reject('equalto', 2) | list }} {{ xs | select('odd') | list }} {{ ds | selectattr('t', 'equalto', 'a') | map(attribute='n') | join(',') }}",
    "{{ ds | rejectattr('t', 'equalto', 'a') | list | length }} {{ ds | map(attribute='n') | list }}",
    "{{ d | tojson }} {{ d | tojson(indent=2) }} {{ ds | tojson }} {{ [] | tojson(indent=4) }} {{ 'é\"\\n' | tojson }}",
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1.5 * 2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }}",
    "{{ 'a' ~ 1 ~ none ~ true }} {{ 'x' if flag else 'y' }} {{ 'x' if not flag }} {{ none is none }} {{ 3 is number }}",
    "{{ und is defined }} {{ und is not defined }} {{ d is mapping }} {{ xs is iterable }} {{ s is string }} {{ 1 in xs }} {{ 9 not in xs }} {{ 'b' in s }}",
    "{{ und | default('dflt') }} {{ '' | default('e', true) }} {{ '12' | int + 1 }} {{ 3.7 | int }} {{ 'x' | int }} {{ 5 | string ~ '!' }}",
    "{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}",
    "{% set y = 1 %}{% for x in xs %}{% set y = x %}{% endfor %}{{ y }}",
    "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}",
    "{% set a, b = xs[0], xs[1] %}{{ a }}{{ b }} {% set blk %}in{{ a }}{% endset %}{{ blk }}",
    "{{ d.get('a') }} {{ d.get('zz', 'no') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d['b'] }} {{ d.b }}",
    "{{ xs }} {{ d }} {{ ds }} {{ none }} {{ true }} {{ 1.0 }} {{ -0.5 }} {{ 'it''s' }} {{ \"it's\" }}",
    "  {%- if true -%}  a  {%- endif -%}  \n{{- ' b ' -}}\n  c\n{# comment #}\n  {% if true %}\n    d\n  {% endif %}\n{%+ if true %}e{% endif +%}\nf",
    "line1\n   {% if flag %}\n   x\n   {% endif %}\n{# c #}   \n  end\n",
    "{{ 'Hello World'.replace('o', '0') }} {{ 'a b'.title() }} {{ 'abc'.capitalize() }} {{ '%s' | length }} {{ 'x\\ty\\u00e9' }}",
    "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1, b=2) | tojson }} {{ xs | unique | list }}",
    "{{ raise_exception('custom failure') }}",
    "{{ strftime_now('%Y') }}",
    "{% if xs|length > 2 and (s == 'hello' or flag) %}yes{% elif flag %}elif{% else %}no{% endif %}",
    "{{ 'abc' < 'abd' }} {{ [1, 2] == [1, 2] }} {{ 1 == 1.0 }} {{ d == {'a': 1, 'b': [2, 3]} }} {{ 2 > 1 }} {{ not und }}",
    "{{ und.attr }}",
    "{% for m in msgs %}{{ m.role }}{{ m['content'] | trim }}{{ m.tool_calls is defined }}{% endfor %}",
    "{% macro box(title) %}[{{ title }}: {{ caller() }}]{% endmacro %}{% call box('T') %}inner {{ s }}{% endcall %}",
    "{% macro row(x) %}<{{ x }}>{% endmacro %}{% for x in xs %}{{ row(x) }}{% endfor %}{{ row(x='kw') }}",
    "{{ '%s' }}{{ '{{ not a tag }}' }} {{ \"a\\nb\" }} {{ 'tab\\there' | length }}",
    "{% for k, v in d.items() if k != 'a' %}{{ k }}={{ v | tojson }}{% endfor %}|{% for k, v in d | items if v is number %}{{ k }}{% endfor %}",
    "{% for m in ds | rejectattr('t', 'equalto', 'b') | selectattr('missing', 'undefined') %}{{ m.n }}{{ loop.length }}{% endfor %}",
    "{{ '%s is %d%%' % ('x', 5) }} {{ '%s!' % s }} {{ '%s-%r' | format('a', 'b') }} {{ '{} {}'.format('p', 'q') }} {{ '{1}{0} {k}'.format('p', 'q', k='kw') }}",
    "{%- for m in msgs -%}\n  {{- m.role | capitalize }}\n{%- endfor %}\n{{ ds | map(attribute='missing', default='-') | join }}",
]
FEATURE_CONTEXT = {"d": {"a": 1, "b": [2, 3]}, "xs": [1, 2, 3, 2], "s": "hello", "flag": False,
                   "ds": [{"t": "a", "n": "x"}, {"t": "b", "n": "y"}, {"t": "a", "n": "z"}],
                   "msgs": [{"role": "user", "content": " hi "}]}


def compare(named):
    got = ours([r for _, r in named])
    failures = []
    for (name, req), g in zip(named, got):
        want = reference(req)
        if "error" in want:
            if "error" not in g or "line" not in g["error"]:
                failures.append(f"{name}: jinja2 raised {want['error']!r}, ours gave {g!r}")
        elif g != want:
            failures.append(f"{name}:\n ours: {g!r}\n want: {want!r}")
    assert not failures, f"{len(failures)} of {len(named)} differ:\n" + "\n".join(failures)


def test_chat_templates_match_jinja2():
    compare(requests())


def test_interpreter_features_match_jinja2():
    compare([(f"feature {i}: {t!r}", {"template": t, "kwargs": FEATURE_CONTEXT})
             for i, t in enumerate(FEATURES)])


def test_model_template_from_tokenizer_config():
    req = dict(LLAMA3_CASES["multi_turn"])
    p = subprocess.run([QINFER, "tokenize", "--chat-jsonl", "--model", LLAMA3],
                       input=(json.dumps(req) + "\n").encode(), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    want = reference(dict(req, template=TEMPLATES["llama3.1"], bos_token="<|begin_of_text|>",
                          eos_token="<|eot_id|>"))
    assert json.loads(p.stdout) == want
