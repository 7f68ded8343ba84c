"""Write invented, official-format data for all 11 CLUE tasks (the demo, `make demo`, and learnability tests).

    python scripts/make_demo_data.py [--out demo/data] [--seed 0] [--tasks tnews,csl]

Every file each task reads is written into <out>/<task>/ in the exact layout of the official archives: JSON
lines with the same fields for the 7 classification tasks (both test versions for TNEWS and CLUEWSC2020, OCNLI's
train.50k.json, TNEWS / IFLYTEK labels.json) and CLUENER2020; CMRC2018's SQuAD-style document (with trial.json);
C3's d-/m- lists and both test versions; CHID's JSON lines with their *_answer.json files and both test versions.
The text is generated, never copied. For classification each label owns a pool of characteristic words mixed with
words shared by all labels, so a 2-layer random BERT learns it to clearly above chance in ~150 steps on CPU; the
span, choice and NER tasks are built from templates whose answers a small model can learn to find (a cue before
a CMRC2018 answer, a cue phrase per CHID idiom, entity pools per CLUENER type). The data says nothing about real
CLUE scores.

The generator is importable: `make_task(task, out_dir, n_train, n_dev, n_test, seed)` writes one task,
`make_all(out_dir, seed)` all eleven with the demo sizes. Output is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class Whole:
    """A file that is one JSON document (CMRC2018, C3, CHID answers) rather than JSON lines."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc


Files = dict[str, "list[Record] | Whole"]  # file name -> JSON-lines records or one document

# Shared filler: appears under every label, so it carries no signal.
FILLER = [
    "今天",
    "最近",
    "据说",
    "记者",
    "了解到",
    "目前",
    "相关",
    "方面",
    "表示",
    "已经",
    "正在",
    "进一步",
    "情况",
    "消息",
    "一些",
    "大家",
    "这个",
    "那些",
    "关注",
    "发布",
    "引发",
    "热议",
    "为什么",
    "如何",
    "怎么",
    "现场",
]

# ------------------------------------------------------------------------------------------------ TNEWS

TNEWS_LABELS: dict[str, tuple[str, list[str]]] = {
    "100": ("news_story", ["老街", "邻居", "往事", "奶奶", "小院", "故乡", "童年", "回忆", "修鞋匠", "老屋"]),
    "101": (
        "news_culture",
        ["书法", "博物馆", "文物", "诗词", "非遗", "古籍", "展览", "戏曲", "碑帖", "画卷"],
    ),
    "102": (
        "news_entertainment",
        ["明星", "综艺", "新剧", "歌手", "演唱会", "票房", "导演", "影帝", "片场", "剧组"],
    ),
    "103": ("news_sports", ["球队", "进球", "决赛", "冠军", "教练", "联赛", "主场", "点球", "前锋", "比分"]),
    "104": ("news_finance", ["央行", "利率", "信贷", "财政", "债券", "汇率", "通胀", "银行", "税收", "预算"]),
    "106": (
        "news_house",
        ["楼盘", "房价", "首付", "房贷", "物业", "二手房", "开发商", "户型", "公积金", "租金"],
    ),
    "107": (
        "news_car",
        ["轿车", "续航", "车型", "油耗", "发动机", "越野", "车企", "底盘", "变速箱", "充电桩"],
    ),
    "108": ("news_edu", ["高考", "考生", "校园", "老师", "志愿", "课程", "招生", "学分", "作业", "家长会"]),
    "109": (
        "news_tech",
        ["芯片", "手机", "算法", "处理器", "软件", "机器人", "屏幕", "网络", "数据", "系统"],
    ),
    "110": (
        "news_military",
        ["舰队", "演习", "战机", "导弹", "部队", "官兵", "雷达", "航母", "巡逻", "装备"],
    ),
    "112": ("news_travel", ["景点", "游客", "古镇", "自驾", "攻略", "民宿", "红叶", "海岛", "门票", "徒步"]),
    "113": ("news_world", ["峰会", "外长", "大使", "联合国", "议会", "总统", "外交", "会谈", "制裁", "选举"]),
    "114": ("news_stock", ["股市", "指数", "板块", "涨停", "基金", "大盘", "股价", "市值", "券商", "行情"]),
    "115": (
        "news_agriculture",
        ["小麦", "农民", "水稻", "大棚", "丰收", "化肥", "果园", "种子", "养殖", "亩产"],
    ),
    "116": ("news_game", ["玩家", "游戏", "电竞", "关卡", "副本", "角色", "手游", "战队", "皮肤", "排位"]),
}


def tnews_sentence(rng: random.Random, code: str) -> tuple[str, str]:
    """A title with 2-3 words of its class, sometimes one word of another class, and shared filler."""
    own = rng.sample(TNEWS_LABELS[code][1], rng.choice((2, 3)))
    words = own + rng.sample(FILLER, rng.randint(1, 3))
    if rng.random() < 0.2:
        other = rng.choice([c for c in TNEWS_LABELS if c != code])
        words.append(rng.choice(TNEWS_LABELS[other][1]))
    rng.shuffle(words)
    cut = rng.randint(1, len(words) - 1)
    title = "".join(words[:cut]) + "，" + "".join(words[cut:]) + rng.choice(("", "", "？", "！"))
    keywords = ",".join(own[:2]) if rng.random() < 0.7 else ""
    return title, keywords


def tnews_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def labelled(n: int) -> list[Record]:
        out = []
        for _ in range(n):
            code = rng.choice(list(TNEWS_LABELS))
            sentence, keywords = tnews_sentence(rng, code)
            out.append(
                {
                    "label": code,
                    "label_desc": TNEWS_LABELS[code][0],
                    "sentence": sentence,
                    "keywords": keywords,
                }
            )
        return out

    def test(n: int) -> list[Record]:
        out = []
        for i in range(n):
            sentence, keywords = tnews_sentence(rng, rng.choice(list(TNEWS_LABELS)))
            out.append({"id": i, "sentence": sentence, "keywords": keywords})
        return out

    return {
        "labels.json": [{"label": code, "label_desc": desc} for code, (desc, _) in TNEWS_LABELS.items()],
        "train.json": labelled(n_train),
        "dev.json": labelled(n_dev),
        "test.json": test(n_test),
        "test1.0.json": test(n_test),
    }


# ------------------------------------------------------------------------------------------------ IFLYTEK

# All 119 category names in label order (tasks/iflytek.md), for labels.json and `label_des`.
IFLYTEK_NAMES = [
    "打车",
    "地图导航",
    "免费WIFI",
    "租车",
    "同城服务",
    "快递物流",
    "婚庆",
    "家政",
    "公共交通",
    "政务",
    "社区服务",
    "薅羊毛",
    "魔幻",
    "仙侠",
    "卡牌",
    "飞行空战",
    "射击游戏",
    "休闲益智",
    "动作类",
    "体育竞技",
    "棋牌中心",
    "经营养成",
    "策略",
    "MOBA",
    "辅助工具",
    "约会社交",
    "即时通讯",
    "工作社交",
    "论坛圈子",
    "婚恋社交",
    "情侣社交",
    "社交工具",
    "生活社交",
    "微博博客",
    "新闻",
    "漫画",
    "小说",
    "技术",
    "教辅",
    "问答交流",
    "搞笑",
    "杂志",
    "百科",
    "影视娱乐",
    "求职",
    "兼职",
    "视频",
    "短视频",
    "音乐",
    "直播",
    "电台",
    "K歌",
    "成人",
    "中小学",
    "职考",
    "公务员",
    "英语",
    "视频教育",
    "高等教育",
    "成人教育",
    "艺术",
    "语言(非英语)",
    "旅游资讯",
    "综合预定",
    "民航",
    "铁路",
    "酒店",
    "行程管理",
    "民宿短租",
    "出国",
    "工具",
    "亲子儿童",
    "母婴",
    "驾校",
    "违章",
    "汽车咨询",
    "汽车交易",
    "日常养车",
    "行车辅助",
    "租房",
    "买房",
    "装修家居",
    "电子产品",
    "问诊挂号",
    "养生保健",
    "医疗服务",
    "减肥瘦身",
    "美妆美业",
    "菜谱",
    "餐饮店",
    "体育咨讯",
    "运动健身",
    "支付",
    "保险",
    "股票",
    "借贷",
    "理财",
    "彩票",
    "记账",
    "银行",
    "美颜",
    "影像剪辑",
    "摄影修图",
    "相机",
    "绘画",
    "二手",
    "电商",
    "团购",
    "外卖",
    "电影票务",
    "社区超市",
    "购物咨询",
    "笔记",
    "办公",
    "日程管理",
    "女性",
    "经营",
    "收款",
    "其他",
]
# The demo uses 10 of the 119 classes: with a few hundred records, 119 would leave ~3 examples per class.
IFLYTEK_WORDS: dict[int, list[str]] = {
    0: ["叫车", "司机", "接单", "车费", "上车点", "拼车", "专车", "行程"],
    1: ["导航", "路线", "路况", "定位", "离线地图", "步行", "驾车", "语音播报"],
    17: ["消除", "关卡", "闯关", "益智", "休闲", "拼图", "解谜", "连连看"],
    26: ["聊天", "消息", "群聊", "语音", "好友", "表情", "视频通话", "文件互传"],
    36: ["小说", "章节", "书架", "作者", "连载", "书城", "阅读器", "追更"],
    48: ["歌曲", "歌单", "歌词", "音质", "专辑", "播放器", "电台", "曲库"],
    66: ["酒店", "入住", "房型", "预订", "退房", "住宿", "前台", "早餐"],
    83: ["挂号", "医生", "门诊", "问诊", "科室", "预约", "医院", "复诊"],
    88: ["菜谱", "食材", "做法", "家常菜", "烘焙", "厨房", "调料", "下厨"],
    92: ["付款", "收款", "转账", "扫码", "零钱", "账单", "银行卡", "红包"],
}
APP_FILLER = [
    "一款",
    "简单",
    "好用",
    "免费",
    "功能",
    "全面",
    "轻松",
    "随时",
    "随地",
    "界面",
    "清爽",
    "更新内容",
    "修复",
    "已知问题",
    "优化",
    "体验",
    "支持",
    "多种",
    "用户",
    "服务",
    "安全",
    "便捷",
    "专业",
]


def iflytek_sentence(rng: random.Random, label: int) -> str:
    words = rng.sample(IFLYTEK_WORDS[label], 4) + rng.sample(APP_FILLER, rng.randint(3, 5))
    if rng.random() < 0.2:
        words.append(rng.choice(IFLYTEK_WORDS[rng.choice([k for k in IFLYTEK_WORDS if k != label])]))
    rng.shuffle(words)
    parts = [words[i : i + 3] for i in range(0, len(words), 3)]
    return "，".join("".join(p) for p in parts) + "。"


def iflytek_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def labelled(n: int) -> list[Record]:
        out = []
        for _ in range(n):
            label = rng.choice(list(IFLYTEK_WORDS))
            out.append(
                {
                    "label": str(label),
                    "label_des": IFLYTEK_NAMES[label],
                    "sentence": iflytek_sentence(rng, label),
                }
            )
        return out

    return {
        "labels.json": [{"label": str(i), "label_des": name} for i, name in enumerate(IFLYTEK_NAMES)],
        "train.json": labelled(n_train),
        "dev.json": labelled(n_dev),
        "test.json": [
            {"id": i, "sentence": iflytek_sentence(rng, rng.choice(list(IFLYTEK_WORDS)))}
            for i in range(n_test)
        ],
    }


# ------------------------------------------------------------------------------------------------ AFQMC

AFQMC_TOPICS = ["花呗", "借呗", "余额宝", "信用卡", "网商贷", "账单", "红包", "积分"]
AFQMC_ACTIONS = ["额度", "还款", "开通", "关闭", "分期", "利息", "逾期", "提现"]
# Paraphrase frames use one set of question words, unrelated pairs another (a lexical cue, like real overlap).
SAME_FRAMES = ["{t}的{a}怎么弄", "请问{t}{a}怎么操作", "{t}{a}在哪里设置", "我想了解{t}的{a}", "{t}怎么{a}呢"]
OTHER_FRAMES = ["另外{t}{a}要多久", "顺便问下{t}{a}收费吗", "还有{t}{a}有没有限制", "{t}{a}失败是怎么回事"]


def afqmc_pair(rng: random.Random, label: str) -> tuple[str, str]:
    topic, action = rng.choice(AFQMC_TOPICS), rng.choice(AFQMC_ACTIONS)
    first = rng.choice(SAME_FRAMES + OTHER_FRAMES).format(t=topic, a=action)
    if label == "1":
        frames = SAME_FRAMES if rng.random() < 0.85 else OTHER_FRAMES
        return first, rng.choice(frames).format(t=topic, a=action)
    other_t = rng.choice([t for t in AFQMC_TOPICS if t != topic])
    other_a = rng.choice([a for a in AFQMC_ACTIONS if a != action])
    frames = OTHER_FRAMES if rng.random() < 0.85 else SAME_FRAMES
    return first, rng.choice(frames).format(t=other_t, a=other_a)


def afqmc_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def labelled(n: int) -> list[Record]:
        out = []
        for _ in range(n):
            label = rng.choice(("0", "1"))
            s1, s2 = afqmc_pair(rng, label)
            out.append({"sentence1": s1, "sentence2": s2, "label": label})
        return out

    test = []
    for i in range(n_test):
        s1, s2 = afqmc_pair(rng, rng.choice(("0", "1")))
        test.append({"id": i, "sentence1": s1, "sentence2": s2})
    return {"train.json": labelled(n_train), "dev.json": labelled(n_dev), "test.json": test}


# ------------------------------------------------------------------------------------------------ CMNLI / OCNLI

NLI_SUBJECTS = [
    "那家书店",
    "这条公交线路",
    "小区门口的超市",
    "他的邻居",
    "学校图书馆",
    "那支乐队",
    "这座小桥",
    "村口的茶馆",
]
NLI_FACTS = [
    "周末营业到深夜",
    "每天早上七点开门",
    "上个月刚刚翻新",
    "在本地很有名气",
    "已经开了二十年",
    "下周起暂停服务",
]
# Hypothesis-only cues, the artefact real NLI sets are known for: each label has its own words.
NLI_CUES = {
    "entailment": ["确实", "的确", "本来就"],
    "contradiction": ["从来没有", "并不", "根本不"],
    "neutral": ["可能", "也许", "听说"],
}
NLI_EXTRA = ["很受年轻人欢迎", "老板姓王", "价格比较贵", "附近还有一家", "明年会扩建", "员工都很热情"]


def nli_pair(rng: random.Random, label: str) -> tuple[str, str]:
    subject, fact = rng.choice(NLI_SUBJECTS), rng.choice(NLI_FACTS)
    premise = f"{subject}{fact}，{rng.choice(FILLER)}{rng.choice(NLI_EXTRA)}"
    # 15% of hypotheses borrow another label's cue, so the cue alone cannot reach 100%.
    cue = rng.choice(NLI_CUES[label if rng.random() < 0.85 else rng.choice(list(NLI_CUES))])
    if label == "entailment" or label == "contradiction":
        hypothesis = f"{subject}{cue}{fact}"
    else:
        hypothesis = f"{subject}{cue}{rng.choice(NLI_EXTRA)}"
    return premise, hypothesis


def nli_records(
    rng: random.Random, n: int, labels: tuple[str, ...], dash_rate: float
) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        # No annotator agreement: the readers drop these rows. Line 2 always is one, so small sets have one too.
        if rng.random() < dash_rate or (dash_rate and i == 1):
            s1, s2 = nli_pair(rng, rng.choice(labels))
            out.append((s1, s2, "-"))
        else:
            label = rng.choice(labels)
            out.append((*nli_pair(rng, label), label))
    return out


NLI_LABELS = ("entailment", "neutral", "contradiction")


def cmnli_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def labelled(n: int) -> list[Record]:
        return [
            {"sentence1": a, "sentence2": b, "label": c} for a, b, c in nli_records(rng, n, NLI_LABELS, 0.03)
        ]

    test = [
        {"id": i, "sentence1": a, "sentence2": b}
        for i, (a, b, _) in enumerate(nli_records(rng, n_test, NLI_LABELS, 0))
    ]
    return {"train.json": labelled(n_train), "dev.json": labelled(n_dev), "test.json": test}


def ocnli_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    genres = ("gov", "news", "lit", "tv", "phone")

    def labelled(n: int) -> list[Record]:
        out = []
        for i, (a, b, label) in enumerate(nli_records(rng, n, NLI_LABELS, 0.03)):
            votes = (
                [label] * 5
                if label != "-"
                else ["entailment", "neutral", "contradiction", "neutral", "entailment"]
            )
            if label != "-" and rng.random() < 0.3:
                votes[rng.randrange(1, 5)] = rng.choice(NLI_LABELS)
            genre = rng.choice(genres)
            record: Record = {"level": "na" if label == "-" else rng.choice(("easy", "medium", "hard"))}
            record.update({"sentence1": a, "sentence2": b, "label": label})
            record.update({f"label{k}": votes[k] for k in range(5)})
            record.update({"genre": genre, "prem_id": f"{genre}_{i // 3}", "id": i})
            out.append(record)
        return out

    test = [
        {"sentence1": a, "sentence2": b, "id": i}
        for i, (a, b, _) in enumerate(nli_records(rng, n_test, NLI_LABELS, 0))
    ]
    return {"train.50k.json": labelled(n_train), "dev.json": labelled(n_dev), "test.json": test}


# ------------------------------------------------------------------------------------------------ CLUEWSC2020

WSC_NOUNS = ["小明", "老王", "妹妹", "医生", "司机", "同桌", "邻居", "队长", "老师", "店主"]
# (frame, which noun the pronoun means): {a} and {b} are nouns, {p} the pronoun. The reason clause after the
# pronoun differs by referent; a tiny model mostly keys on those words.
WSC_FRAMES = [
    ("{a}把伞借给了{b}，因为{p}多带了一把", "a"),
    ("{a}把伞借给了{b}，因为{p}忘了带伞", "b"),
    ("{a}赢了{b}，因为{p}练得更刻苦", "a"),
    ("{a}赢了{b}，因为{p}那天生病了", "b"),
    ("{a}向{b}道歉，因为{p}说错了话", "a"),
    ("{a}向{b}道谢，因为{p}帮了大忙", "b"),
    ("{p}一进门，{a}就把钥匙交给了{b}", "a"),
    ("{p}刚刚搬来，{a}就去拜访了{b}", "b"),
]


def wsc_record(rng: random.Random) -> tuple[str, dict[str, Any], str]:
    frame, means = rng.choice(WSC_FRAMES)
    a, b = rng.sample(WSC_NOUNS, 2)
    pronoun = rng.choice(("他", "她"))
    text = frame.format(a=a, b=b, p=pronoun)
    marked = rng.choice(("a", "b"))
    noun = a if marked == "a" else b
    # Offsets from the frame's placeholders, never str.find: a noun can also occur elsewhere in the text.
    head = frame.split("{" + marked + "}")[0].format(a=a, b=b, p=pronoun)
    pronoun_at = len(frame.split("{p}")[0].format(a=a, b=b))
    target = {"span2_index": pronoun_at, "span1_index": len(head), "span1_text": noun, "span2_text": pronoun}
    return text, target, "true" if marked == means else "false"


def wsc_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def labelled(n: int) -> list[Record]:
        out = []
        for i in range(n):
            text, target, label = wsc_record(rng)
            out.append({"target": target, "idx": i, "label": label, "text": text})
        return out

    def test(n: int) -> list[Record]:
        out = []
        for i in range(n):
            text, target, _ = wsc_record(rng)
            out.append({"id": i, "target": target, "text": text})
        return out

    return {
        "train.json": labelled(n_train),
        "dev.json": labelled(n_dev),
        "test.json": test(n_test),
        "test1.0.json": test(n_test),
    }


# ------------------------------------------------------------------------------------------------ CSL

CSL_TOPICS = {
    "图像": (
        ["图像去噪", "卷积网络", "多尺度", "边缘检测", "超分辨率"],
        "针对图像处理中细节易丢失的问题，提出一种{k}方法",
    ),
    "水文": (["径流", "降水", "流域", "土地利用", "遥感"], "以典型流域为研究区，分析了{k}的时空变化规律"),
    "材料": (["纳米材料", "水热法", "光催化", "晶体结构", "掺杂"], "采用实验手段研究了{k}对材料性能的影响"),
    "通信": (
        ["传感器网络", "路由协议", "能量效率", "信道估计", "分簇"],
        "为提高无线网络性能，设计了一种基于{k}的方案",
    ),
    "农业": (["冬小麦", "施氮量", "产量", "土壤养分", "灌溉"], "通过田间试验研究了{k}与作物生长的关系"),
}
# Stand-ins for the TF-IDF-generated fake keywords of the real data: they never occur in a genuine list.
CSL_FAKES = ["综合评价", "影响因素", "发展趋势", "对策建议", "应用前景", "研究进展"]
CSL_TAILS = [
    "，实验结果表明该方法有效。",
    "，结果可为相关研究提供参考。",
    "，并通过算例验证了结论。",
    "，取得了较好的效果。",
]


def csl_record(rng: random.Random, label: str) -> tuple[str, list[str]]:
    words, frame = CSL_TOPICS[rng.choice(list(CSL_TOPICS))]
    keywords = rng.sample(words, rng.choice((3, 4)))
    abst = f"{frame.format(k=keywords[0])}，重点讨论了{keywords[1]}与{'、'.join(keywords[2:])}{rng.choice(CSL_TAILS)}"
    if label == "0":  # mostly a generic fake; sometimes a keyword of another topic, which is harder to spot
        others = [w for t, (ws, _) in CSL_TOPICS.items() if ws is not words for w in ws]
        keywords[rng.randrange(len(keywords))] = rng.choice(CSL_FAKES if rng.random() < 0.8 else others)
    return abst, keywords


def csl_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> dict[str, list[Record]]:
    def records(n: int, labelled: bool) -> list[Record]:
        out = []
        ids = rng.sample(range(1, 10 * (n + 1)), n)  # corpus ids, never the line index
        for ident in ids:
            label = rng.choice(("0", "1"))
            abst, keywords = csl_record(rng, label)
            record: Record = {"id": ident, "abst": abst, "keyword": keywords}
            if labelled:
                record["label"] = label
            out.append(record)
        return out

    return {
        "train.json": records(n_train, True),
        "dev.json": records(n_dev, True),
        "test.json": records(n_test, False),
    }


# ------------------------------------------------------------------------------------------------ CMRC2018

CMRC_TOWNS = [
    "青石镇",
    "雾溪村",
    "柳湾镇",
    "桃源村",
    "白沙镇",
    "松岭村",
    "石桥镇",
    "梅坞村",
    "云口镇",
    "竹林村",
]
CMRC_PLACES = ["河谷北岸", "大山脚下", "湖泊东侧", "平原中部", "海湾南端", "丘陵之间"]
CMRC_ERAS = ["明代", "清代", "宋代", "唐代", "元代"]
CMRC_BUILDINGS = ["古塔", "石桥", "祠堂", "书院", "戏台", "老井"]
CMRC_SEASONS = ["春季", "夏季", "秋季", "冬季"]
CMRC_FESTIVALS = ["稻米节", "灯会", "庙会", "赛龙舟", "茶叶节"]


def cmrc_document(rng: random.Random, doc_id: str, labelled: bool, multi: bool) -> dict[str, Any]:
    """One article: a context built from parts, and questions whose answers sit right after a cue."""
    town = rng.choice(CMRC_TOWNS)
    facts = [  # (text before the answer, answer, text after, question)
        (f"{town}位于", rng.choice(CMRC_PLACES), "，", f"{town}位于哪里？"),
        ("始建于", rng.choice(CMRC_ERAS), "，", f"{town}始建于哪个朝代？"),
        ("镇上最有名的是一座", rng.choice(CMRC_BUILDINGS), "。", "镇上最有名的建筑是什么？"),
        (
            f"每年{rng.choice(CMRC_SEASONS)}，这里会举办",
            rng.choice(CMRC_FESTIVALS),
            "，游客很多。",
            "这里每年举办什么活动？",
        ),
    ]
    context, qas = "", []
    for k, (before, answer, after, question) in enumerate(facts):
        context += before
        start = len(context)
        context += answer + after
        if labelled:
            answers = [{"text": answer, "answer_start": start}] * (2 if multi and rng.random() < 0.5 else 1)
        else:
            answers = [{"text": "", "answer_start": -1}]  # the official test files carry a placeholder
        qas.append({"question": question, "id": f"{doc_id}_QUERY_{k}", "answers": answers})
    rng.shuffle(qas)
    keep = qas[: rng.choice((2, 3, 4))]
    return {"title": town, "id": doc_id, "paragraphs": [{"id": doc_id, "context": context, "qas": keep}]}


def cmrc_file(rng: random.Random, n_questions: int, tag: str, labelled: bool) -> Whole:
    docs: list[dict[str, Any]] = []
    questions = 0
    while questions < n_questions:
        doc = cmrc_document(rng, f"{tag}_{len(docs)}", labelled, multi=tag != "TRAIN")
        qas = doc["paragraphs"][0]["qas"]
        del qas[n_questions - questions :]
        questions += len(qas)
        docs.append(doc)
    return Whole({"version": "v1.0", "data": docs})


def cmrc2018_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> Files:
    return {
        "train.json": cmrc_file(rng, n_train, "TRAIN", True),
        "dev.json": cmrc_file(rng, n_dev, "DEV", True),
        "trial.json": cmrc_file(rng, n_test, "TRIAL", True),
        "test.json": cmrc_file(rng, n_test, "TEST", False),
    }


# ------------------------------------------------------------------------------------------------ C3

C3_PLACES = ["公园", "图书馆", "电影院", "博物馆", "超市", "医院", "体育馆", "火车站"]
C3_VEHICLES = ["地铁", "公交车", "出租车", "自行车"]
C3_TIMES = ["早上七点", "上午十点", "中午十二点", "下午三点", "晚上八点"]


def c3_item(rng: random.Random, item_id: str, dialogue: bool, test_ids: list[int] | None) -> list[Any]:
    """A short dialogue or story and 1-2 questions whose right choice is the word the text uses."""
    place, vehicle, when = rng.choice(C3_PLACES), rng.choice(C3_VEHICLES), rng.choice(C3_TIMES)
    if dialogue:
        lines = [f"男：我们{when}去{place}吧。", f"女：好啊，我们坐{vehicle}去。"]
    else:
        lines = [f"小李每天{when}出门，坐{vehicle}去{place}，风雨无阻。"]
    asked = [("他们要去哪里？" if dialogue else "小李去哪里？", place, C3_PLACES),
             ("怎么去？", vehicle, C3_VEHICLES), ("什么时候出发？", when, C3_TIMES)]  # fmt: skip
    questions = []
    for question, answer, pool in rng.sample(asked, rng.choice((1, 2))):
        choices = [answer, *rng.sample([w for w in pool if w != answer], rng.choice((1, 2, 3)))]
        rng.shuffle(choices)
        q: dict[str, Any] = {"question": question, "choice": choices}
        if test_ids is None:
            q["answer"] = answer
        else:
            q["id"] = len(test_ids)
            test_ids.append(len(test_ids))
        questions.append(q)
    return [lines, questions, item_id]


def c3_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> Files:
    """n_* count items (documents); the d- and m- files share them."""

    def items(n: int, prefix: str, dialogue: bool, test_ids: list[int] | None = None) -> Whole:
        return Whole([c3_item(rng, f"{prefix}-{i}", dialogue, test_ids) for i in range(n)])

    def test(n: int) -> Whole:
        ids: list[int] = []  # question ids run through the whole file
        return Whole([c3_item(rng, f"test-{i}", i % 2 == 0, ids) for i in range(n)])

    return {
        "d-train.json": items(n_train // 2, "d", True),
        "m-train.json": items(n_train - n_train // 2, "m", False),
        "d-dev.json": items(n_dev // 2, "d", True),
        "m-dev.json": items(n_dev - n_dev // 2, "m", False),
        "test1.0.json": test(n_test),
        "test1.1.json": test(n_test),
    }


# ------------------------------------------------------------------------------------------------ CHID

# Each idiom with a sentence in which it fits: '{}' marks the blank.
CHID_IDIOMS = {
    "刻舟求剑": "船已经开出很远，他还在船舷上找当初做的记号，真是{}。",
    "掩耳盗铃": "以为捂住自己的耳朵别人就听不见铃声，这就是{}。",
    "画蛇添足": "文章本已写完，他又硬加了一段，反而{}。",
    "守株待兔": "不去努力，只盼着好运再次撞上门来，无异于{}。",
    "亡羊补牢": "丢了羊赶紧修好羊圈，虽说{}，总比不修强。",
    "对牛弹琴": "跟不懂音乐的人大谈乐理，简直是{}。",
    "杯弓蛇影": "把杯中的弓影当成了蛇，结果吓出病来，真是{}。",
    "井底之蛙": "他从没出过村子，却自以为见多识广，像{}一样。",
    "叶公好龙": "嘴上说喜欢龙，真龙来了却吓跑了，好比{}。",
    "拔苗助长": "嫌禾苗长得慢就往上拔，结果全枯死了，这叫{}。",
    "胸有成竹": "画竹之前心里早有完整的样子，下笔时{}。",
    "熟能生巧": "天天练习，手法越来越快，正所谓{}。",
    "水滴石穿": "一滴一滴的水日久天长也能打穿石头，这就是{}。",
    "半途而废": "跑到一半就放弃了比赛，实在可惜，不该{}。",
    "雪中送炭": "在他最困难的时候送来了冬衣和粮食，真是{}。",
    "锦上添花": "本来已经很成功，又得了大奖，可谓{}。",
    "三心二意": "一会儿想学画画，一会儿又想学唱歌，总是{}。",
    "九牛一毛": "这点损失对大公司来说不过是{}。",
    "千钧一发": "就在汽车要撞上的那一刻他停了下来，真是{}。",
    "马到成功": "出发前大家互相祝愿{}，一路顺利。",
}


def chid_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> Files:
    """n_* count records (lines); each has 10 candidates and 1-3 blanks over 1-2 passages, answers distinct."""
    counter = 0

    def records(n: int) -> tuple[list[Record], dict[str, int]]:
        nonlocal counter
        lines, answers = [], {}
        for _ in range(n):
            candidates = rng.sample(list(CHID_IDIOMS), 10)
            used = rng.sample(candidates, rng.choice((1, 2, 3)))
            passages: list[str] = []
            for idiom in used:
                key = f"#idiom{counter:06d}#"
                counter += 1
                answers[key] = candidates.index(idiom)
                sentence = CHID_IDIOMS[idiom].format(key)
                if passages and rng.random() < 0.5:
                    passages[-1] += sentence  # two blanks in one passage
                else:
                    passages.append(sentence)
            lines.append({"candidates": candidates, "content": passages})
        return lines, answers

    train, train_answers = records(n_train)
    dev, dev_answers = records(n_dev)
    return {
        "train.json": train,
        "train_answer.json": Whole(train_answers),
        "dev.json": dev,
        "dev_answer.json": Whole(dev_answers),
        "test1.0.json": records(n_test)[0],
        "test1.1.json": records(n_test)[0],
    }


# ------------------------------------------------------------------------------------------------ CLUENER2020

NER_POOLS = {
    "name": ["李明", "王芳", "张伟", "刘洋", "陈静", "赵磊"],
    "company": ["青禾科技", "蓝海集团", "星河传媒", "远航物流", "金桥银行"],
    "position": ["经理", "工程师", "记者", "教授", "总监"],
    "address": ["北京市海淀区", "上海市浦东新区", "广州市天河区", "杭州市西湖区"],
    "government": ["市教育局", "省交通厅", "区人民政府", "市卫生健康委"],
    "organization": ["红十字会", "青年志愿者协会", "市足球队", "作家协会"],
    "book": ["《山河故人》", "《海边的灯塔》", "《时间简史》", "《平凡的日子》"],
    "movie": ["《流浪星球》", "《长江往事》", "《夏日序曲》", "《风起之时》"],
    "game": ["《王者对决》", "《星际远征》", "《方块世界》", "《英雄传说》"],
    "scene": ["故宫", "西湖", "黄山", "鼓浪屿", "长城"],
}
# Sentence templates: {type} slots are filled from NER_POOLS and labelled; the rest is plain text.
NER_TEMPLATES = [
    "{name}在{company}担任{position}",
    "{government}表示，{address}将新建一座图书馆",
    "{name}最近在读{book}，觉得很有意思",
    "周末{name}和朋友去看了电影{movie}",
    "{organization}组织会员去{scene}游览",
    "很多玩家在{game}里组队，{company}宣布将推出新版本",
    "{name}是{organization}的{position}，住在{address}",
    "{scene}附近的{company}招聘{position}",
]


def ner_record(rng: random.Random) -> tuple[str, dict[str, dict[str, list[list[int]]]]]:
    template = rng.choice(NER_TEMPLATES)
    text, label = "", {}
    for i, part in enumerate(template.replace("}", "{").split("{")):
        if i % 2 == 0:
            text += part
            continue
        entity = rng.choice(NER_POOLS[part])
        spans = label.setdefault(part, {}).setdefault(entity, [])
        spans.append([len(text), len(text) + len(entity) - 1])  # inclusive end, as the official files
        text += entity
    return text, label


def cluener_files(rng: random.Random, n_train: int, n_dev: int, n_test: int) -> Files:
    def labelled(n: int) -> list[Record]:
        out = []
        for _ in range(n):
            text, label = ner_record(rng)
            out.append({"text": text, "label": label})
        return out

    return {
        "train.json": labelled(n_train),
        "dev.json": labelled(n_dev),
        "test.json": [{"id": i, "text": ner_record(rng)[0]} for i in range(n_test)],
    }


# ------------------------------------------------------------------------------------------------ driver

Maker = Callable[[random.Random, int, int, int], Files]
MAKERS: dict[str, Maker] = {
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
# (train, dev, test) per task for the bundled demo: records (CMRC2018 questions, C3 documents, CHID lines).
DEMO_SIZES: dict[str, tuple[int, int, int]] = {
    "afqmc": (400, 100, 50),
    "tnews": (1500, 300, 100),
    "iflytek": (400, 100, 50),
    "cmnli": (400, 100, 50),
    "ocnli": (400, 100, 50),
    "cluewsc2020": (300, 100, 50),
    "csl": (300, 100, 50),
    "cmrc2018": (400, 100, 50),
    "c3": (300, 80, 40),
    "chid": (300, 80, 40),
    "cluener": (400, 100, 50),
}


def make_task(task: str, out_dir: str | Path, n_train: int, n_dev: int, n_test: int, seed: int = 0) -> Path:
    """Write every file `task` reads into `out_dir` (created if needed); return `out_dir`.

    Args:
        task: one of the 11 task names.
        out_dir: the task's data folder (pass it as --data-dir).
        n_train: records in the training file (NLI: including the few '-' rows the readers drop).
        n_dev: records in the dev file.
        n_test: records in each test file (TNEWS and CLUEWSC2020 write two).
        seed: the same (task, sizes, seed) always gives the same bytes.
    """
    if task not in MAKERS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(MAKERS)}")
    rng = random.Random(f"{task}-{seed}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in MAKERS[task](rng, n_train, n_dev, n_test).items():
        if isinstance(content, Whole):  # one JSON document
            text = json.dumps(content.doc, ensure_ascii=False) + "\n"
        else:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in content)
        (out / name).write_text(text, encoding="utf-8")
    return out


def make_all(out_dir: str | Path, seed: int = 0, tasks: list[str] | None = None) -> list[Path]:
    """Write the demo sizes for `tasks` (default: all 11) into <out_dir>/<task>/."""
    return [make_task(t, Path(out_dir) / t, *DEMO_SIZES[t], seed=seed) for t in tasks or list(MAKERS)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="demo/data", help="folder that receives <task>/ subfolders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default=",".join(MAKERS), help="comma-separated task names")
    args = parser.parse_args(argv)
    for path in make_all(args.out, args.seed, [t.strip() for t in args.tasks.split(",") if t.strip()]):
        size = sum(f.stat().st_size for f in path.iterdir())
        print(f"{path}: {', '.join(sorted(f.name for f in path.iterdir()))} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
