"""crm_lib.reporting.language: English words a reader of a Chinese report would see.

The page below is written by hand; the words it must flag are listed by hand, in page order.
"""

from __future__ import annotations

from crm_lib.reporting.language import cited_authors, foreign_words

PAGE = """<!DOCTYPE html>
<html><head><title>English title of the tab</title>
<style>.jp-Cell { color: black; }</style>
<script>function showEverything() { return "hidden"; }</script></head>
<body>
<div class="jp-Cell jp-MarkdownCell">
<h1 id="segment">01 · 客户细分<a class="anchor-link" href="#segment">¶</a></h1>
<p>本笔记本用 RFM、BG/NBD 与 Gamma-Gamma 模型（Fader 等，2005）；字段 <code>customer_id</code>
与 <code>eight_class_sizes</code> 是代码。这里的 recency 与 Recency 不是“距上次购买”。</p>
<p>公式 <math><mi>alpha</mi><mo>+</mo><mi>beta</mi></math> 与 p 值；详见
<a href="https://example.com/docs">https://example.com/docs</a> 或 www.example.org/faq。</p>
<img src="data:image/png;base64,AAAA" alt="Revenue by month">
<pre>Traceback (most recent call last): ValueError</pre>
<p>数据：<span class="crm-verbatim">My Own Shop 1997-98</span>；导出到 Power BI 与 Excel。</p>
</div>
<div class="jp-Cell jp-CodeCell"><table class="dataframe crm-table">
<thead><tr><th>eight_class_sizes</th><th>客户数</th></tr></thead>
<tbody><tr><td>p_3233a1dabf446aa3</td><td>2025Q3</td></tr>
<tr><td>bootstrap</td><td>Q1 P0001</td></tr></tbody></table></div>
<div class="jp-Cell jp-MarkdownCell">
<h2 id="refs">参考文献<a class="anchor-link" href="#refs">¶</a></h2>
<ul><li>Fader, P. S., Hardie, B. G. S., &amp; Lee, K. L. (2005). "Counting your customers"
the easy way. <em>Marketing Science</em>, 24(2), 275-284.</li></ul>
</div>
<div class="jp-Cell jp-MarkdownCell">
<h2 id="ex">练习<a class="anchor-link" href="#ex">¶</a></h2>
<p>Try these on the simulated world（Hardie 与 Lee）。</p>
</div>
</body></html>
"""


def test_a_hand_made_page_flags_exactly_the_english_a_reader_sees():
    found = [f.word for f in foreign_words(PAGE)]
    # by hand: prose words and leaked identifiers outside code, formulas, URLs, attributes,
    # the verbatim dataset name and the reference list; names from the reference list
    # (Hardie, Lee) are allowed where the narrative cites them
    assert found == [
        "recency",
        "Recency",
        "eight_class_sizes",
        "bootstrap",
        "Try",
        "these",
        "on",
        "the",
        "simulated",
        "world",
    ]


def test_a_finding_shows_its_context():
    (finding,) = foreign_words("<p>模型使用 bootstrap 区间。</p>")
    assert finding.word == "bootstrap" and finding.context == "模型使用 bootstrap 区间。"


def test_the_allow_list_is_case_sensitive_and_whole_words():
    assert [f.word for f in foreign_words("<p>DuckDB 与 duckdb，pandas 与 Pandas</p>")] == [
        "duckdb",
        "Pandas",
    ]


def test_an_identifier_is_a_word_when_one_of_its_parts_is():
    words = [f.word for f in foreign_words("<td>clv_12m</td><td>q_product_1</td><td>p_9ce70</td>")]
    assert words == ["clv_12m", "q_product_1"]


def test_a_reference_list_ends_with_the_element_that_holds_it():
    page = (
        "<div><h2>References</h2><ul><li>Hughes, A. M. (1994). Strategic Database"
        " Marketing.</li></ul></div><div><p>Marketing in Chinese</p></div>"
    )
    # the English heading is itself a word to translate; the list under it is skipped
    assert [f.word for f in foreign_words(page)] == ["References", "Marketing", "in", "Chinese"]


def test_cited_authors_are_the_surnames_before_initials():
    refs = ["Anderl, E., Becker, I., von Wangenheim, F., & Schumann, J. H. (2016). Mapping."]
    assert cited_authors(refs) == {"Anderl", "Becker", "Wangenheim", "Schumann"}
