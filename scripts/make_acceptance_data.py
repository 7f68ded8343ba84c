"""Write invented, official-format acceptance data for all 11 CLUE tasks (used by scripts/acceptance.py).

    python scripts/make_acceptance_data.py --out /tmp/acc-data [--seed 20261124] [--tasks tnews,chid]

The text here is new: its own word pools and templates, shared with neither tests/fixtures/ nor
scripts/make_demo_data.py (only the official IFLYTEK category names, which are the label set, are the same).
It is built to exercise the awkward corners of each format rather than to be learnable:

- the two test versions of TNEWS / CLUEWSC2020 / CHID / C3 have different sizes (a mix-up shows);
- CMNLI / OCNLI train and dev hold '-' rows; CLUEWSC2020 has the pronoun both before and after the noun, and
  its test1.0.json ids start at 1; CSL ids are corpus ids (random, never the line index);
- CMRC2018 contexts run to ~230-275 characters (2-3 windows at max_len 128), answers sit early and late, dev
  questions have several (sometimes different) answers, test answers are a placeholder or an empty list;
- C3 questions have 2, 3 or 4 choices; test questions carry a running int `id`;
- CHID records have 1-3 passages and 2-5 blanks, answers distinct within a record, keys numbered per file;
- CLUENER has all 10 types in every split, nested spans of different types (an address inside a government),
  a string repeated at two spans, Latin letters and digits, and test ids that are not the line index.

`make_task(task, out_dir, seed, sizes=None)` writes one task folder; `SIZES` holds the default sizes.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = (
    "afqmc",
    "tnews",
    "iflytek",
    "cmnli",
    "ocnli",
    "cluewsc2020",
    "csl",
    "cmrc2018",
    "c3",
    "chid",
    "cluener",
)
# (train, dev, test, second test version) in records (questions for CMRC2018, documents for C3).
SIZES: dict[str, tuple[int, int, int, int]] = {
    "afqmc": (48, 24, 21, 0),
    "tnews": (50, 25, 22, 17),
    "iflytek": (44, 22, 19, 0),
    "cmnli": (46, 24, 20, 0),
    "ocnli": (46, 24, 23, 0),
    "cluewsc2020": (40, 20, 18, 15),
    "csl": (40, 20, 19, 0),
    "cmrc2018": (36, 18, 16, 0),
    "c3": (20, 10, 9, 7),
    "chid": (30, 16, 15, 12),
    "cluener": (40, 20, 18, 0),
}

Files = dict[str, Any]  # file name -> list of records (JSON lines) or ("json", object) for a single document


def _jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# --------------------------------------------------------------------------------------- shared word pools

PLACES = ["澄江", "鹿鸣", "栖霞", "白鹭", "云岫", "松涛", "枫桥", "竹溪", "雁荡", "落霞", "石湾", "桐庐"]
PEOPLE = ["郑一鸣", "韩若溪", "陆子衡", "沈清禾", "顾北辰", "苏念安", "唐晓峰", "许嘉言", "温雅", "贺兰舟"]
THINGS = ["陶罐", "竹篮", "铜铃", "纸伞", "木梳", "丝巾", "砚台", "茶饼", "藤椅", "风筝"]

# ------------------------------------------------------------------------------------------------ TNEWS

TNEWS: dict[str, tuple[str, list[str]]] = {
    "100": ("news_story", ["旧信封", "外婆的灶台", "巷口的裁缝"]),
    "101": ("news_culture", ["篆刻展", "古琴曲谱", "壁画修复"]),
    "102": ("news_entertainment", ["新综艺录制", "乐队巡演", "电影首映礼"]),
    "103": ("news_sports", ["羽毛球公开赛", "马拉松赛道", "游泳接力"]),
    "104": ("news_finance", ["专项债发行", "存款利率", "外汇储备"]),
    "106": ("news_house", ["学区房成交", "保障性租赁住房", "装修贷款"]),
    "107": ("news_car", ["混动SUV", "自动泊车", "电池快充"]),
    "108": ("news_edu", ["研学旅行", "职业院校", "双减政策"]),
    "109": ("news_tech", ["量子计算", "5G基站", "开源框架"]),
    "110": ("news_military", ["海上编队", "空降演练", "边防哨所"]),
    "112": ("news_travel", ["雪山徒步", "海边露营", "古城夜游"]),
    "113": ("news_world", ["双边会晤", "气候大会", "多边贸易"]),
    "114": ("news_stock", ["北向资金", "科创板", "ETF份额"]),
    "115": ("news_agriculture", ["春耕备耕", "茶园采摘", "稻虾共养"]),
    "116": ("news_game", ["开放世界", "赛季更新", "联机副本"]),
}
TNEWS_FRAMES = [
    "{w}迎来新变化，{p}怎么看？",
    "关于{w}，{p}说了这些",
    "{w}成热门话题",
    "{p}聊{w}：值得期待吗？",
]


def tnews_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    codes = list(TNEWS)

    def sentence(code: str) -> tuple[str, str]:
        word = rng.choice(TNEWS[code][1])
        text = rng.choice(TNEWS_FRAMES).format(w=word, p=rng.choice(PEOPLE))
        return text, (word if rng.random() < 0.6 else "")

    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            code = codes[i] if i < len(codes) else rng.choice(codes)
            text, kw = sentence(code)
            out.append({"label": code, "label_desc": TNEWS[code][0], "sentence": text, "keywords": kw})
        rng.shuffle(out)
        return out

    def test(k: int) -> list[dict[str, Any]]:
        return [
            dict(zip(("id", "sentence", "keywords"), (i, *sentence(rng.choice(codes))), strict=True))
            for i in range(k)
        ]

    return {
        "labels.json": [{"label": c, "label_desc": d} for c, (d, _) in TNEWS.items()],
        "train.json": labelled(n[0]),
        "dev.json": labelled(n[1]),
        "test.json": test(n[2]),
        "test1.0.json": test(n[3]),
    }


# ------------------------------------------------------------------------------------------------ IFLYTEK


def iflytek_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    from make_demo_data import IFLYTEK_NAMES  # the official label names (the label set, not text)

    used = [3, 5, 9, 22, 41, 57, 64, 79, 91, 104, 112, 118]
    feats = ["支持离线使用", "界面简洁", "每日签到有奖励", "数据云端同步", "夜间模式护眼", "一键分享给好友"]

    def sentence(label: int) -> str:
        name = IFLYTEK_NAMES[label]
        parts = rng.sample(feats, 3)
        return f"这是一款{name}类应用，{parts[0]}，{parts[1]}。版本{rng.randint(2, 9)}.{rng.randint(0, 9)}更新：{parts[2]}。"

    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            label = used[i] if i < len(used) else rng.choice(used)
            out.append({"label": str(label), "label_des": IFLYTEK_NAMES[label], "sentence": sentence(label)})
        rng.shuffle(out)
        return out

    return {
        "labels.json": [{"label": str(i), "label_des": name} for i, name in enumerate(IFLYTEK_NAMES)],
        "train.json": labelled(n[0]),
        "dev.json": labelled(n[1]),
        "test.json": [{"id": i, "sentence": sentence(rng.choice(used))} for i in range(n[2])],
    }


# ------------------------------------------------------------------------------------------------ AFQMC

AFQMC_ITEMS = ["电子社保卡", "公交乘车码", "水电燃气缴费", "医保个人账户", "芝麻分", "相互宝"]
AFQMC_ASKS = ["怎么开通", "在哪里查询", "为什么用不了", "可以注销吗", "要收手续费吗"]


def afqmc_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def pair(label: str) -> tuple[str, str]:
        item, ask = rng.choice(AFQMC_ITEMS), rng.choice(AFQMC_ASKS)
        if label == "1":
            return f"请问{item}{ask}", f"{item}到底{ask}呀"
        other = rng.choice([a for a in AFQMC_ASKS if a != ask])
        return f"{item}{ask}", f"我想知道{rng.choice(AFQMC_ITEMS)}{other}"

    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            label = "01"[i % 2] if i < 2 else rng.choice("01")
            s1, s2 = pair(label)
            out.append({"sentence1": s1, "sentence2": s2, "label": label})
        return out

    test = [
        dict(zip(("id", "sentence1", "sentence2"), (i, *pair(rng.choice("01"))), strict=True))
        for i in range(n[2])
    ]
    return {"train.json": labelled(n[0]), "dev.json": labelled(n[1]), "test.json": test}


# ------------------------------------------------------------------------------------------------ NLI

NLI = ("entailment", "neutral", "contradiction")


def nli_pair(rng: random.Random, label: str) -> tuple[str, str]:
    who, place, thing = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(THINGS)
    premise = f"{who}上周在{place}的集市上买了一只{thing}，花了{rng.randint(20, 90)}元"
    hyp = {
        "entailment": f"{who}买过一只{thing}",
        "neutral": f"{who}打算把{thing}送给朋友",
        "contradiction": f"{who}从没去过{place}",
    }[label]
    return premise, hyp


def nli_labelled(rng: random.Random, k: int) -> list[tuple[str, str, str]]:
    out = []
    for i in range(k):
        label = NLI[i] if i < 3 else rng.choice(NLI)
        s1, s2 = nli_pair(rng, label)
        out.append((s1, s2, "-" if i in (3, 7) or rng.random() < 0.05 else label))
    return out


def cmnli_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def labelled(k: int) -> list[dict[str, Any]]:
        return [{"sentence1": a, "sentence2": b, "label": c} for a, b, c in nli_labelled(rng, k)]

    test = [
        dict(zip(("id", "sentence1", "sentence2"), (i, *nli_pair(rng, rng.choice(NLI))), strict=True))
        for i in range(n[2])
    ]
    return {"train.json": labelled(n[0]), "dev.json": labelled(n[1]), "test.json": test}


def ocnli_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i, (a, b, c) in enumerate(nli_labelled(rng, k)):
            votes = (
                [c] * 5 if c != "-" else ["neutral", "entailment", "contradiction", "neutral", "entailment"]
            )
            genre = rng.choice(("gov", "news", "lit", "tv", "phone"))
            rec: dict[str, Any] = {"level": "na" if c == "-" else rng.choice(("easy", "medium", "hard"))}
            rec.update({"sentence1": a, "sentence2": b, "label": c})
            rec.update({f"label{j}": votes[j] for j in range(5)})
            rec.update({"genre": genre, "prem_id": f"{genre}_{100 + i // 3}", "id": i})
            out.append(rec)
        return out

    test = [
        dict(zip(("sentence1", "sentence2", "id"), (*nli_pair(rng, rng.choice(NLI)), i), strict=True))
        for i in range(n[2])
    ]
    return {"train.50k.json": labelled(n[0]), "dev.json": labelled(n[1]), "test.json": test}


# ------------------------------------------------------------------------------------------------ CLUEWSC2020

WSC_NOUNS = ["老船长", "小侄女", "实习生", "邮递员", "护林员", "面包师"]


def wsc_record(rng: random.Random, pronoun_first: bool) -> tuple[str, dict[str, Any], str]:
    a, b = rng.sample(WSC_NOUNS, 2)
    p = rng.choice(("他", "她"))
    if pronoun_first:
        head = ""
        text = f"{p}刚推开门，{a}就把地图递给了{b}。"
        nouns = {a: len(f"{p}刚推开门，"), b: len(f"{p}刚推开门，{a}就把地图递给了")}
        p_at, means = 0, a
    else:
        head = f"{a}请{b}帮忙搬箱子，因为"
        text = f"{head}{p}的腰扭伤了。"
        nouns = {a: 0, b: len(f"{a}请")}
        p_at, means = len(head), a
    marked = rng.choice((a, b))
    target = {"span2_index": p_at, "span1_index": nouns[marked], "span1_text": marked, "span2_text": p}
    return text, target, "true" if marked == means else "false"


def wsc_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            text, target, label = wsc_record(rng, i % 2 == 1)
            out.append({"target": target, "idx": 500 + i, "label": label, "text": text})
        return out

    def test(k: int, first_id: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            text, target, _ = wsc_record(rng, i % 2 == 0)
            out.append({"id": first_id + i, "target": target, "text": text})
        return out

    return {
        "train.json": labelled(n[0]),
        "dev.json": labelled(n[1]),
        "test.json": test(n[2], 0),
        "test1.0.json": test(n[3], 1),  # ids from 1, as in a real test1.0 example: the line index must win
    }


# ------------------------------------------------------------------------------------------------ CSL

CSL_AREAS = {
    "桥梁": ["斜拉桥", "索力识别", "模态分析", "健康监测"],
    "茶学": ["茶多酚", "萎凋工艺", "香气成分", "发酵程度"],
    "语音": ["声学模型", "端到端识别", "方言语音", "数据增强"],
    "冰川": ["冰川退缩", "物质平衡", "气温升高", "遥感反演"],
}


def csl_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def rec(ident: int, label: str | None) -> dict[str, Any]:
        area = rng.choice(list(CSL_AREAS))
        kws = rng.sample(CSL_AREAS[area], 3)
        abst = f"围绕{area}领域中的{kws[0]}问题，本文结合{kws[1]}开展研究，并讨论了{kws[2]}的作用，结果具有参考价值。"
        real = label if label is not None else rng.choice("01")
        if real == "0":
            kws[rng.randrange(3)] = rng.choice(["社会治理", "文化传播", "产业升级"])
        out: dict[str, Any] = {"id": ident, "abst": abst, "keyword": kws}
        if label is not None:
            out["label"] = label
        return out

    def records(k: int, labelled: bool) -> list[dict[str, Any]]:
        ids = rng.sample(range(3000, 90000), k)  # corpus ids: never 0..N-1
        return [
            rec(ident, ("01"[i % 2] if i < 2 else rng.choice("01")) if labelled else None)
            for i, ident in enumerate(ids)
        ]

    return {
        "train.json": records(n[0], True),
        "dev.json": records(n[1], True),
        "test.json": records(n[2], False),
    }


# ------------------------------------------------------------------------------------------------ CMRC2018

CMRC_FACTS: list[tuple[str, str, Callable[[random.Random], str]]] = [
    ("{x}始建于{a}，最初只是一处渡口。", "{x}始建于什么时候？", lambda r: f"{r.randint(1350, 1990)}年"),
    ("镇上最老的茶馆由{a}经营，已传了三代。", "镇上最老的茶馆由谁经营？", lambda r: r.choice(PEOPLE)),
    (
        "每年农历{a}，{x}都会举办灯会。",
        "{x}每年什么时候举办灯会？",
        lambda r: r.choice(["正月十五", "八月十六", "三月初三"]),
    ),
    (
        "从{x}到省城约有{a}，乘大巴需要两个多小时。",
        "从{x}到省城有多远？",
        lambda r: f"{r.randint(80, 260)}公里",
    ),
    (
        "当地出产的{a}曾在博览会上获得金奖。",
        "当地什么特产获得过金奖？",
        lambda r: r.choice(["桂花酒", "竹编灯笼", "青瓷茶盏"]),
    ),
    (
        "{x}的中学里有一台编号为{a}的老式天文望远镜。",
        "老式天文望远镜的编号是什么？",
        lambda r: f"TX-{r.randint(100, 999)}",
    ),
    (
        "{x}的主街名叫{a}，全长不足一千米。",
        "{x}的主街叫什么名字？",
        lambda r: r.choice(["青石街", "永和路", "鼓楼巷"]),
    ),
    ("镇北的水库建成后，可灌溉农田{a}。", "水库可以灌溉多少农田？", lambda r: f"{r.randint(2, 9)}万亩"),
]
CMRC_FILLER = [
    "清晨的雾气从河面升起，沿着石阶慢慢散开",
    "街角的修表铺已经开了很多年，玻璃柜里摆满了旧零件",
    "夏天的傍晚，孩子们喜欢在桥头追逐打闹",
    "老人们常说，这里的井水泡茶格外清香",
    "近年来，越来越多的年轻人回乡开店创业",
    "雨季来临时，山上的溪流会变得湍急",
    "每逢集日，周边村子的人都会赶来交换货物",
    "镇政府计划在明年修缮几座年久失修的老宅",
    "河对岸是一片广阔的油菜田，春天时一片金黄",
    "小学的操场边种着两排高大的梧桐树",
]


def cmrc_doc(
    rng: random.Random, n_questions: int, prefix: str, labelled: bool, multi: bool
) -> tuple[dict[str, Any], int]:
    """One article with one paragraph of 250-450 characters; returns (article, questions)."""
    x = rng.choice(PLACES) + rng.choice(["镇", "村", "乡"])
    facts = rng.sample(CMRC_FACTS, min(n_questions, len(CMRC_FACTS)))
    fillers = rng.sample(CMRC_FILLER, len(CMRC_FILLER))
    pieces: list[tuple[str, int | None]] = [(f"{x}位于一条大河的南岸。", None)]
    # interleave: facts at the start, the middle and (always) the end, so some answers lie past the first window
    order: list[tuple[str, int | None]] = [(f + "。", None) for f in fillers[:9]]
    for k in range(len(facts)):
        pos = len(order) if k == 0 else rng.randrange(len(order) + 1)
        order.insert(pos, ("", k))
    pieces += order
    context, qas = "", []
    for text, k in pieces:
        if k is None:
            context += text
            continue
        template, question, make = facts[k]
        answer = make(rng)
        before, after = template.split("{a}")
        before = before.format(x=x)
        start = len(context) + len(before)
        context += before + answer + after.format(x=x)
        qas.append((question.format(x=x), answer, start))
    qas_json = []
    for j, (question, answer, start) in enumerate(qas):
        qid = f"{prefix}_QUERY_{j}"
        if labelled:
            answers = [{"text": answer, "answer_start": start}]
            if multi:  # dev: several references, one of them a shorter or longer variant
                answers.append({"text": answer, "answer_start": start})
                if len(answer) > 2:
                    answers.append({"text": answer[:-1], "answer_start": start})
            entry = {"question": question, "id": qid, "answers": answers}
        else:
            placeholder = [{"text": "", "answer_start": -1}] if j % 2 == 0 else []
            entry = {"question": question, "id": qid, "answers": placeholder}
        qas_json.append(entry)
    doc = {"title": x, "id": prefix, "paragraphs": [{"id": prefix, "context": context, "qas": qas_json}]}
    return doc, len(qas_json)


def cmrc_file(rng: random.Random, n_questions: int, tag: str, labelled: bool, multi: bool) -> dict[str, Any]:
    data, total, k = [], 0, 0
    while total < n_questions:
        q = min(rng.randint(2, 4), n_questions - total)
        doc, got = cmrc_doc(rng, q, f"{tag}_{7 + 3 * k}", labelled, multi)
        data.append(doc)
        total += got
        k += 1
    return {"version": "v1.0", "data": data}


def cmrc2018_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    return {
        "train.json": ("json", cmrc_file(rng, n[0], "TRAIN", True, False)),
        "dev.json": ("json", cmrc_file(rng, n[1], "DEV", True, True)),
        "test.json": ("json", cmrc_file(rng, n[2], "TEST", False, False)),
        "trial.json": ("json", cmrc_file(rng, 6, "TRIAL", True, True)),
    }


# ------------------------------------------------------------------------------------------------ C3


def c3_question(rng: random.Random, who: str, thing: str, place: str) -> tuple[str, list[str], str]:
    kind = rng.randrange(3)
    if kind == 0:
        opts = rng.sample(THINGS, rng.choice((2, 3, 4)))
        if thing not in opts:
            opts[rng.randrange(len(opts))] = thing
        return f"{who}想买什么？", opts, thing
    if kind == 1:
        opts = rng.sample(PLACES, rng.choice((2, 3, 4)))
        if place not in opts:
            opts[rng.randrange(len(opts))] = place
        return "他们约在哪里见面？", opts, place
    opts = ["会", "不会"] if rng.random() < 0.5 else ["会", "不会", "不知道"]
    return f"{who}明天会去吗？", opts, "会"


def c3_item(rng: random.Random, item_id: str, dialogue: bool, test_ids: list[int] | None) -> list[Any]:
    who, thing, place = rng.choice(PEOPLE), rng.choice(THINGS), rng.choice(PLACES)
    if dialogue:
        lines = [
            f"男：{who}，明天我们在{place}见面好吗？",
            f"女：好啊，我正想去那儿买一只{thing}。",
            "男：那我一定会去的。",
        ]
    else:
        lines = [f"{who}从小在{place}长大。", f"他一直想买一只做工精细的{thing}，明天会专程去一趟老街。"]
    questions = []
    for _ in range(rng.choice((1, 2, 3))):
        q, choice, answer = c3_question(rng, who, thing, place)
        if test_ids is None:
            questions.append({"question": q, "choice": choice, "answer": answer})
        else:
            questions.append({"question": q, "choice": choice, "id": len(test_ids)})
            test_ids.append(len(test_ids))
    return [lines, questions, item_id]


def c3_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def part(k: int, tag: str, dialogue: bool) -> list[Any]:
        return [c3_item(rng, f"{tag}-{40 + i}", dialogue, None) for i in range(k)]

    def test(k: int) -> list[Any]:
        ids: list[int] = []
        return [c3_item(rng, f"t-{i}", i % 2 == 0, ids) for i in range(k)]

    half_t, half_d = n[0] // 2, n[1] // 2
    return {
        "d-train.json": ("json", part(half_t, "d", True)),
        "m-train.json": ("json", part(n[0] - half_t, "m", False)),
        "d-dev.json": ("json", part(half_d, "d", True)),
        "m-dev.json": ("json", part(n[1] - half_d, "m", False)),
        "test1.1.json": ("json", test(n[2])),
        "test1.0.json": ("json", test(n[3])),
    }


# ------------------------------------------------------------------------------------------------ CHID

IDIOMS = [
    "一丝不苟",
    "事半功倍",
    "井井有条",
    "全力以赴",
    "出类拔萃",
    "众志成城",
    "坚持不懈",
    "别出心裁",
    "迫在眉睫",
    "循序渐进",
    "津津有味",
    "络绎不绝",
    "脚踏实地",
    "如释重负",
    "见义勇为",
    "自相矛盾",
    "小心翼翼",
    "异口同声",
    "百折不挠",
    "左顾右盼",
]
CHID_FRAMES = [
    "这次整修工程时间紧、任务重，工人们{b}，终于按期完工。",
    "他做实验一向{b}，连小数点后第三位都要反复核对。",
    "老街的夜市开张以后，前来品尝小吃的游客{b}。",
    "听到考试成绩的那一刻，她长出一口气，感到{b}。",
    "学书法要{b}，先练笔画，再练结构。",
    "会上大家{b}地表示支持这个方案，{b}。",
    "只要方法得当就能{b}；如果盲目蛮干，往往适得其反。",
]


def chid_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def records(k: int, base: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        out, answers, key = [], {}, base
        for _ in range(k):
            candidates = rng.sample(IDIOMS, 10)
            n_passages = rng.choice((1, 2, 3))
            content, used = [], rng.sample(range(10), 10)
            blanks = 0
            for _ in range(n_passages):
                frame = rng.choice(CHID_FRAMES)
                parts = frame.split("{b}")
                text = parts[0]
                for tail in parts[1:]:
                    name = f"#idiom{key:06d}#"
                    answers[name] = used[blanks]
                    key += 1
                    blanks += 1
                    text += name + tail
                content.append(text)
            if blanks < 2:  # several blanks in every record
                name = f"#idiom{key:06d}#"
                answers[name] = used[blanks]
                key += 1
                blanks += 1
                content.append(f"面对困难，他{name}，从不轻言放弃。")
            out.append({"candidates": candidates, "content": content})
        return out, answers

    train, train_ans = records(n[0], 610001)
    dev, dev_ans = records(n[1], 620001)
    t11, _ = records(n[2], 630001)
    t10, _ = records(n[3], 640001)
    return {
        "train.json": train,
        "train_answer.json": ("json", train_ans),
        "dev.json": dev,
        "dev_answer.json": ("json", dev_ans),
        "test1.1.json": t11,
        "test1.0.json": t10,
    }


# ------------------------------------------------------------------------------------------------ CLUENER

NER_POOLS = {
    "name": PEOPLE,
    "company": ["K9云图科技", "星澜数码公司", "合润食品有限公司", "ABC物流集团"],
    "organization": ["鹿鸣篮球俱乐部", "青禾志愿者协会", "北岭合唱团"],
    "position": ["总工程师", "CTO", "首席设计师", "副总裁"],
    "book": ["北岭札记", "星河纪年", "茶经新注"],
    "movie": ["长夜将明", "海上灯塔", "归途2"],
    "game": ["幻域OL", "FIFA23", "星穹迷航"],
    "scene": ["太湖湿地公园", "灵隐寺", "鼓浪屿"],
    "address": ["杭州市拱墅区", "宁波市鄞州区", "南昌市东湖区", "中山路188号"],
}


class _Builder:
    """Text assembled piece by piece with inclusive character spans per entity."""

    def __init__(self) -> None:
        self.text = ""
        self.label: dict[str, dict[str, list[list[int]]]] = {}

    def add(self, s: str, kind: str | None = None) -> int:
        start = len(self.text)
        self.text += s
        if kind:
            self.mark(kind, start, s)
        return start

    def mark(self, kind: str, start: int, s: str) -> None:
        assert self.text[start : start + len(s)] == s
        self.label.setdefault(kind, {}).setdefault(s, []).append([start, start + len(s) - 1])


def ner_sentence(rng: random.Random, pattern: int) -> _Builder:
    b, P = _Builder(), NER_POOLS
    pick = rng.choice
    if pattern == 0:  # name / company / position, Latin + digits in the company
        b.add(pick(P["name"]), "name")
        b.add("是")
        b.add(pick(P["company"]), "company")
        b.add("的")
        b.add(pick(P["position"]), "position")
        b.add("。")
    elif pattern == 1:  # nested: an address inside a government
        addr = pick(P["address"][:3])
        b.add("据")
        start = b.add(addr, "address")
        b.add("人民政府消息")
        b.mark("government", start, addr + "人民政府")
        b.add("，")
        b.add(pick(P["scene"]), "scene")
        b.add("将于五月开放。")
    elif pattern == 2:  # the same name at two spans
        who, other = rng.sample(P["name"], 2)
        b.add(who, "name")
        b.add("和")
        b.add(other, "name")
        b.add("都加入了")
        b.add(pick(P["organization"]), "organization")
        b.add("，")
        b.add(who, "name")
        b.add("还当了队长。")
    elif pattern == 3:  # book / movie / game with Latin and digits
        b.add("他读完《")
        b.add(pick(P["book"]), "book")
        b.add("》后去看了电影《")
        b.add(pick(P["movie"]), "movie")
        b.add("》，晚上又玩了两局")
        b.add(pick(P["game"]), "game")
        b.add("。")
    elif pattern == 4:  # address with digits, company, government nested in organisation-free text
        b.add(pick(P["company"]), "company")
        b.add("搬到了")
        b.add("中山路188号", "address")
        b.add("，离")
        b.add(pick(P["scene"]), "scene")
        b.add("不远。")
    else:  # no entity at all
        b.add(rng.choice(["今天下午有雷阵雨。", "这家店周一不营业。", "请把窗户关好。"]))
    return b


def cluener_files(rng: random.Random, n: tuple[int, int, int, int]) -> Files:
    def labelled(k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(k):
            b = ner_sentence(rng, i % 6 if i < 12 else rng.randrange(6))
            out.append({"text": b.text, "label": b.label})
        return out

    test = [{"id": 1000 + 3 * i, "text": ner_sentence(rng, rng.randrange(6)).text} for i in range(n[2])]
    return {"train.json": labelled(n[0]), "dev.json": labelled(n[1]), "test.json": test}


# ------------------------------------------------------------------------------------------------ driver

MAKERS: dict[str, Callable[[random.Random, tuple[int, int, int, int]], Files]] = {
    "afqmc": afqmc_files,
    "tnews": tnews_files,
    "iflytek": iflytek_files,
    "cmnli": cmnli_files,
    "ocnli": ocnli_files,
    "cluewsc2020": wsc_files,
    "csl": csl_files,
    "cmrc2018": cmrc2018_files,
    "c3": c3_files,
    "chid": chid_files,
    "cluener": cluener_files,
}


def make_task(
    task: str, out_dir: str | Path, seed: int = 20261124, sizes: tuple[int, int, int, int] | None = None
) -> Path:
    """Write every file `task` reads into `out_dir`; the same (task, seed, sizes) gives the same bytes."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_demo_data (IFLYTEK label names)
    rng = random.Random(f"acceptance-{task}-{seed}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in MAKERS[task](rng, sizes or SIZES[task]).items():
        if isinstance(content, tuple):
            text = json.dumps(content[1], ensure_ascii=False, indent=2) + "\n"
        else:
            text = _jsonl(content)
        (out / name).write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder that receives <task>/ subfolders")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args(argv)
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        path = make_task(task, Path(args.out) / task, args.seed)
        print(f"{path}: {', '.join(sorted(f.name for f in path.iterdir()))}")


if __name__ == "__main__":
    main()
