"""Generate synthetic Chinese case records with questions, deterministic by seed.

Why: the real CJRC data is never part of the repository, so the demo and the tests need data of
the same shape that a fresh clone can make in a second. Passages read like police records and
criminal judgments (people with ID numbers, addresses, phones, and one case with dates, places
and amounts); every answer can be found from local context, so a small model learns it in
minutes, and all four answer kinds occur: one span, several spans, yes/no and no answer.

Run ``python -m model.sample_data --out DIR [--train N] [--dev N] [--seed S]`` to write
``DIR/train.jsonl`` and ``DIR/dev.jsonl``.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from contract.examples import AnswerSpan, AnswerType, QAExample
from model.readers import write_jsonl

logger = logging.getLogger(__name__)


class QuestionKind(StrEnum):
    """How a question is answered; MULTI is a SPAN answer with several spans."""

    SINGLE = "single"
    MULTI = "multi"
    YES_NO = "yes_no"
    NO_ANSWER = "none"


DEFAULT_MIX: Mapping[QuestionKind, float] = {
    QuestionKind.SINGLE: 0.55,
    QuestionKind.MULTI: 0.15,
    QuestionKind.YES_NO: 0.15,
    QuestionKind.NO_ANSWER: 0.15,
}
MIN_PASSAGE_CHARS = 150
MAX_PASSAGE_CHARS = 500  # the network's default max_passage_len is 512
MAX_QUESTIONS_PER_PASSAGE = 4
DOMAIN = "criminal"

# --- resident ID numbers (GB 11643-1999) -------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are ``first17``."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"an ID number body must be 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def make_id_number(area_code: str, birth: date, sequence: int, male: bool) -> str:
    """A resident ID number; its 3-digit order code is odd for men and even for women."""
    if not 0 <= sequence < 500:
        raise ValueError(f"sequence must be in [0, 500), got {sequence}")
    body = f"{area_code}{birth:%Y%m%d}{2 * sequence + male:03d}"
    return body + id_check_digit(body)


# --- vocabulary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    province: str
    city: str  # empty for the four municipalities
    district: str
    area_code: str
    plate_prefix: str

    @property
    def prefix(self) -> str:
        return f"{self.province}{self.city}{self.district}"

    @property
    def court(self) -> str:
        return f"{self.prefix}人民法院"

    @property
    def procuratorate(self) -> str:
        return f"{self.prefix}人民检察院"

    @property
    def police(self) -> str:
        return f"{self.city or self.province}公安局{self.district}分局"


_REGIONS = (
    _Region("北京市", "", "朝阳区", "110105", "京A"),
    _Region("北京市", "", "海淀区", "110108", "京N"),
    _Region("上海市", "", "浦东新区", "310115", "沪A"),
    _Region("天津市", "", "河西区", "120103", "津A"),
    _Region("重庆市", "", "渝中区", "500103", "渝A"),
    _Region("广东省", "广州市", "天河区", "440106", "粤A"),
    _Region("广东省", "深圳市", "南山区", "440305", "粤B"),
    _Region("浙江省", "杭州市", "西湖区", "330106", "浙A"),
    _Region("浙江省", "宁波市", "鄞州区", "330212", "浙B"),
    _Region("江苏省", "南京市", "鼓楼区", "320106", "苏A"),
    _Region("江苏省", "苏州市", "姑苏区", "320508", "苏E"),
    _Region("四川省", "成都市", "武侯区", "510107", "川A"),
    _Region("湖北省", "武汉市", "洪山区", "420111", "鄂A"),
    _Region("河南省", "郑州市", "金水区", "410105", "豫A"),
    _Region("山东省", "济南市", "历下区", "370102", "鲁A"),
    _Region("山东省", "青岛市", "市南区", "370202", "鲁B"),
    _Region("陕西省", "西安市", "雁塔区", "610113", "陕A"),
    _Region("湖南省", "长沙市", "岳麓区", "430104", "湘A"),
    _Region("福建省", "厦门市", "思明区", "350203", "闽D"),
    _Region("安徽省", "合肥市", "蜀山区", "340104", "皖A"),
    _Region("河北省", "石家庄市", "长安区", "130102", "冀A"),
    _Region("辽宁省", "沈阳市", "和平区", "210102", "辽A"),
    _Region("云南省", "昆明市", "五华区", "530102", "云A"),
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶贺顾毛郝龚邵"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
_MALE_NAME_CHARS = (
    "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林峰建国志文海东亮成晨毅"
)
_FEMALE_NAME_CHARS = "芳娜敏静丽艳娟霞秀玲桂英燕萍红梅琳雪慧颖倩婷莉洁琴云兰晶露月欣悦佳怡"
_ETHNICITIES = ("汉族",) * 12 + ("回族", "满族", "壮族", "苗族", "土家族", "蒙古族", "彝族")
_EDUCATIONS = ("小学", "初中", "初中", "高中", "中专", "大专", "大学本科")
_OCCUPATIONS = (
    "无业", "农民", "个体经营者", "货车司机", "出租车司机", "公司职员", "外卖骑手",
    "装修工人", "保安", "厨师", "销售员", "快递员", "仓库管理员", "网约车司机",
)  # fmt: skip
_ROADS = (
    "建设路", "人民路", "解放路", "中山路", "和平路", "胜利路", "文化路", "幸福路", "新华路",
    "长江路", "黄河路", "东风路", "青年路", "光明路", "友谊路", "民主路", "健康路", "春华街",
    "丰收街", "滨河路", "迎宾大道", "学府路", "工业大道", "振兴路",
)  # fmt: skip
_ESTATES = ("阳光花园", "锦绣家园", "翠苑小区", "金色港湾", "幸福里", "名都公寓", "东方明珠苑")
_VENUES = (
    "一家超市内", "某小区地下车库", "一家网吧内", "某烧烤店门口", "某酒店大堂", "一家手机店内",
    "某菜市场", "某公交车站", "一家KTV包厢内", "某工地宿舍",
)  # fmt: skip
_PHONE_PREFIXES = ("138", "139", "135", "136", "150", "151", "158", "186", "187", "177", "189")
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_CARS = (
    "白色大众轿车",
    "黑色丰田轿车",
    "银色本田轿车",
    "红色比亚迪轿车",
    "小型普通客车",
    "重型货车",
)
_STOLEN_ITEMS = (
    "手机一部", "笔记本电脑一台", "金项链一条", "电动自行车一辆", "钱包一个", "平板电脑一台",
    "手表一块", "香烟十条", "金手镯一只", "单反相机一台", "铜质电缆二十米",
)  # fmt: skip
_TOOLS = ("螺丝刀", "老虎钳", "液压剪", "万能钥匙", "铁撬棍")
_PRETEXTS = (
    "能够帮助其办理低息贷款", "可以低价购买拍卖房屋", "能为其子女安排工作",
    "投资虚拟货币可获高额回报", "其亲属急需手术费", "能够代办驾驶证", "可以帮忙疏通关系减轻处罚",
)  # fmt: skip
_USAGES = ("偿还赌债", "个人挥霍", "购买车辆", "支付房租", "网络赌博")
_QUARRELS = ("停车位问题", "琐事", "债务纠纷", "邻里噪音问题", "工钱结算问题", "交通纠纷")
_WEAPONS = ("木棍", "啤酒瓶", "水果刀", "铁锹", "砖头", "钢管")
_INJURIES = ("左臂骨折", "面部挫伤", "鼻骨骨折", "头皮裂伤", "肋骨骨折", "右眼眶挫伤", "牙齿脱落")
_INJURY_DEGREES = ("轻伤一级", "轻伤二级", "轻微伤", "重伤二级")
_EVIDENCE: Mapping[str, tuple[str, ...]] = {
    "theft": ("被害人陈述", "证人证言", "监控录像", "现场勘验笔录", "扣押清单", "价格认定书"),
    "fraud": ("被害人陈述", "证人证言", "银行交易记录", "微信聊天记录", "书证", "辨认笔录"),
    "assault": ("被害人陈述", "证人证言", "监控录像", "伤情鉴定意见", "病历资料", "辨认笔录"),
    "drunk_driving": ("证人证言", "血液酒精含量检验报告", "呼气酒精测试单", "执法记录仪视频"),
}
_PRIOR_CRIMES = ("盗窃罪", "诈骗罪", "故意伤害罪", "寻衅滋事罪", "危险驾驶罪", "抢夺罪")
_TERMS = ("拘役四个月", "有期徒刑六个月", "有期徒刑一年", "有期徒刑一年六个月", "有期徒刑三年")
_NO_RECORD = ("无前科", "无犯罪前科", "此前无违法犯罪记录")

# --- building a passage with located values ----------------------------------------------------


class _Builder:
    """Appends text and remembers where each named value was put."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.spans: dict[tuple[str, ...], AnswerSpan] = {}

    def text(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def value(self, key: tuple[str, ...], text: str) -> None:
        self.spans[key] = AnswerSpan(text=text, start=self._length)
        self.text(text)

    def passage(self) -> str:
        return "".join(self._parts)


@dataclass
class _Person:
    """One person in a case, with the attributes the passage states (None: not stated)."""

    name: str
    role: str  # "defendant", "victim" or "witness"
    gender: str
    ethnicity: str | None
    birth: date
    id_number: str | None
    address: str | None
    phone: str | None
    occupation: str | None
    education: str | None
    has_record: bool | None = None


@dataclass
class _Case:
    """The facts of one passage, filled in while it is rendered."""

    kind: str
    judgment: bool
    region: _Region
    day: date
    people: list[_Person]
    yes_no: dict[tuple[str, ...], bool] = field(default_factory=dict)
    list_keys: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def by_role(self, role: str) -> list[_Person]:
        return [person for person in self.people if person.role == role]


def _role_label(role: str, judgment: bool) -> str:
    if role == "defendant":
        return "被告人" if judgment else "犯罪嫌疑人"
    return {"victim": "被害人", "witness": "证人"}[role]


def _random_date(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1)
    return start + timedelta(days=rng.randrange((date(last_year, 12, 31) - start).days + 1))


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _amount(rng: random.Random, low: int, high: int) -> str:
    value = rng.randrange(low, high, 100)
    return f"{value:,}元" if rng.random() < 0.7 else f"{value}元"


def _plate(rng: random.Random, region: _Region) -> str:
    tail = list(_digits(rng, 5))
    if rng.random() < 0.4:
        tail[rng.randrange(5)] = rng.choice(_PLATE_LETTERS)
    return region.plate_prefix + "".join(tail)


def _unique_names(rng: random.Random, genders: Sequence[str]) -> list[str]:
    """Names for one passage, none contained in another (so a question names one person)."""
    names: list[str] = []
    for gender in genders:
        while True:
            if rng.random() < 0.03:
                surname = rng.choice(_COMPOUND_SURNAMES)
            else:
                surname = rng.choice(_SURNAMES)
            pool = _MALE_NAME_CHARS if gender == "男" else _FEMALE_NAME_CHARS
            given = "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))
            name = surname + given
            if all(name not in other and other not in name for other in names):
                names.append(name)
                break
    return names


def _room(rng: random.Random) -> str:
    return f"{rng.randint(1, 30)}0{rng.randint(1, 4)}室"


def _address(rng: random.Random, region: _Region) -> str:
    street = f"{region.prefix}{rng.choice(_ROADS)}{rng.randint(1, 399)}号"
    shape = rng.random()
    if shape < 0.4:
        return street
    if shape < 0.7:
        return f"{street}{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{_room(rng)}"
    estate = f"{region.prefix}{rng.choice(_ROADS)}{rng.choice(_ESTATES)}"
    return f"{estate}{rng.randint(1, 40)}号楼{_room(rng)}"


_DETAIL_SHARE = {2: 0.85, 3: 0.65, 4: 0.5}
"""How often an ID number, address or phone is stated, by the number of people (keeps the
passage within MAX_PASSAGE_CHARS)."""


def _maybe(rng: random.Random, share: float, make: Callable[[], str]) -> str | None:
    return make() if rng.random() < share else None


def _make_people(rng: random.Random, roles: Sequence[str]) -> list[_Person]:
    genders = [
        rng.choice("男男女") if role == "defendant" else rng.choice("男女") for role in roles
    ]
    names = _unique_names(rng, genders)
    detail = _DETAIL_SHARE[len(roles)]
    return [
        _make_person(rng, name, role, gender, detail)
        for name, role, gender in zip(names, roles, genders, strict=True)
    ]


def _make_person(rng: random.Random, name: str, role: str, gender: str, detail: float) -> _Person:
    region = rng.choice(_REGIONS)
    birth = _random_date(rng, 1960, 1995 if role == "defendant" else 2003)
    main = role != "witness"  # witnesses are described more briefly
    return _Person(
        name=name,
        role=role,
        gender=gender,
        ethnicity=_maybe(rng, 0.9 if main else 0.4, lambda: rng.choice(_ETHNICITIES)),
        birth=birth,
        id_number=_maybe(
            rng,
            detail if main else detail / 2,
            lambda: make_id_number(region.area_code, birth, rng.randrange(500), gender == "男"),
        ),
        address=_maybe(rng, detail, lambda: _address(rng, region)),
        phone=_maybe(rng, detail * 0.7, lambda: rng.choice(_PHONE_PREFIXES) + _digits(rng, 8)),
        occupation=_maybe(rng, 0.7 if main else 0.3, lambda: rng.choice(_OCCUPATIONS)),
        education=_maybe(rng, 0.5 if main else 0.0, lambda: rng.choice(_EDUCATIONS)),
        has_record=(
            rng.choice((True, False)) if role == "defendant" and rng.random() < 0.75 else None
        ),
    )


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


# --- rendering ----------------------------------------------------------------------------------

_ID_SENTENCES = ("{n}的公民身份号码为{v}。", "{n}身份证号码：{v}。", "{n}的身份证号为{v}。")
_ADDRESS_SENTENCES = ("{n}住{v}。", "{n}户籍地为{v}。", "{n}的户籍所在地是{v}。", "{n}现住{v}。")
_PHONE_SENTENCES = ("{n}的联系电话为{v}。", "{n}手机号码{v}。", "{n}的手机号是{v}。")


def _render_profile(out: _Builder, rng: random.Random, case: _Case, index: int) -> None:
    """A header sentence with the short attributes, then one sentence per long attribute.

    Each long value follows a fresh mention of the name, so every answer lies within a few
    dozen characters of the name the question asks about.
    """
    person = case.people[index]
    pid = str(index)

    def field_(key: str, value: str, prefix: str = "", suffix: str = "") -> None:
        out.text("，" + prefix)
        out.value((key, pid), value)
        out.text(suffix)

    out.text(_role_label(person.role, case.judgment))
    out.value(("name", pid), person.name)
    field_("gender", person.gender)
    birth = _cn_date(person.birth)
    ethnicity_first = person.ethnicity is not None and rng.random() < 0.3
    if ethnicity_first:
        field_("ethnicity", person.ethnicity)
    if rng.random() < 0.5:
        field_("birth", birth, suffix="出生")
    else:
        field_("birth", birth, prefix="出生于")
    if person.ethnicity and not ethnicity_first:
        field_("ethnicity", person.ethnicity)
    if person.education:
        if rng.random() < 0.6:
            field_("education", person.education, suffix="文化")
        else:
            field_("education", person.education, prefix="文化程度")
    if person.occupation:
        labelled = person.occupation != "无业" and rng.random() < 0.5
        field_("occupation", person.occupation, prefix="职业" if labelled else "")
    out.text("。")
    if person.has_record is not None:
        case.yes_no[("record", pid)] = person.has_record
        _render_record(out, rng, case, person)
    details = [
        (key, value, templates)
        for key, value, templates in (
            ("id", person.id_number, _ID_SENTENCES),
            ("address", person.address, _ADDRESS_SENTENCES),
            ("phone", person.phone, _PHONE_SENTENCES),
        )
        if value
    ]
    rng.shuffle(details)
    for key, value, templates in details:
        before, after = rng.choice(templates).split("{v}")
        out.text(before.format(n=person.name))
        out.value((key, pid), value)
        out.text(after)


def _render_record(out: _Builder, rng: random.Random, case: _Case, person: _Person) -> None:
    if not person.has_record:
        out.text(f"{person.name}{rng.choice(_NO_RECORD)}。")
        return
    crime, term = rng.choice(_PRIOR_CRIMES), rng.choice(_TERMS)
    first_year = 2012 if crime == "危险驾驶罪" else 2000  # the offence exists since 2011
    year = rng.randint(max(person.birth.year + 18, first_year), case.day.year - 2)
    out.text(
        rng.choice(
            (
                f"{person.name}曾因{crime}于{year}年被判处{term}。",
                f"{person.name}于{year}年因{crime}被判处{term}。",
            )
        )
    )


def _render_header(out: _Builder, rng: random.Random, case: _Case, year: int) -> None:
    region = case.region
    if case.judgment:
        number = (
            f"（{year}）{region.plate_prefix[0]}{region.area_code[2:]}刑初{rng.randint(10, 2999)}号"
        )
        out.value(("court",), region.court)
        out.text("刑事判决书")
        out.value(("case_number",), number)
        out.text(f"。公诉机关{region.procuratorate}。")
    else:
        number = f"A{region.area_code}{year}{_digits(rng, 6)}"
        out.value(("police",), region.police)
        out.text("受案登记，案件编号")
        out.value(("case_number",), number)
        out.text("。")


def _accomplices(names: Sequence[str]) -> str:
    return f"伙同{'、'.join(names)}" if names else ""


def _render_list(out: _Builder, case: _Case, name: str, items: Sequence[str]) -> None:
    keys = []
    for position, item in enumerate(items):
        if position:
            out.text("、")
        key = (name, str(position))
        out.value(key, item)
        keys.append(key)
    case.list_keys[name] = keys


def _place(rng: random.Random, region: _Region) -> str:
    return f"{region.prefix}{rng.choice(_ROADS)}{rng.randint(1, 399)}号{rng.choice(_VENUES)}"


def _render_theft(out: _Builder, rng: random.Random, case: _Case) -> None:
    lead, *others = [p.name for p in case.by_role("defendant")]
    victim = case.by_role("victim")[0].name
    out.text(f"{lead}{_accomplices(others)}")
    if rng.random() < 0.4:
        out.text("驾驶车牌号为")
        out.value(("plate",), _plate(rng, case.region))
        out.text("的")
        out.value(("car",), rng.choice(_CARS))
    out.text("窜至")
    out.value(("place",), _place(rng, case.region))
    out.text("，")
    if rng.random() < 0.5:
        out.text("使用")
        out.value(("tool",), rng.choice(_TOOLS))
        out.text("撬开门锁，")
    else:
        out.text(rng.choice(("趁无人看管，", "趁被害人不备，")))
    out.text(f"盗走{victim}的")
    _render_list(out, case, "items", rng.sample(_STOLEN_ITEMS, rng.randint(1, 3)))
    out.text("。经鉴定，被盗物品共计价值人民币")
    out.value(("amount",), _amount(rng, 1000, 60000))
    out.text("。")


def _render_fraud(out: _Builder, rng: random.Random, case: _Case) -> None:
    lead, *others = [p.name for p in case.by_role("defendant")]
    victim = case.by_role("victim")[0].name
    out.text(f"{lead}{_accomplices(others)}在")
    out.value(("place",), _place(rng, case.region))
    out.text("向" + victim + "谎称")
    out.value(("pretext",), rng.choice(_PRETEXTS))
    out.text("，先后骗取其人民币")
    out.value(("amount",), _amount(rng, 3000, 300000))
    out.text("。")
    if rng.random() < 0.6:
        out.text("所骗钱款被用于")
        out.value(("usage",), rng.choice(_USAGES))
        out.text("。")


def _render_assault(out: _Builder, rng: random.Random, case: _Case) -> None:
    lead, *others = [p.name for p in case.by_role("defendant")]
    victim = case.by_role("victim")[0].name
    out.text(f"{lead}{_accomplices(others)}与{victim}在")
    out.value(("place",), _place(rng, case.region))
    out.text("因")
    out.value(("cause",), rng.choice(_QUARRELS))
    out.text(f"发生争执，{lead}持")
    out.value(("weapon",), rng.choice(_WEAPONS))
    out.text(f"击打{victim}，致其")
    _render_list(out, case, "injuries", rng.sample(_INJURIES, rng.randint(1, 3)))
    out.text(f"。经鉴定，{victim}的损伤程度为")
    out.value(("injury_degree",), rng.choice(_INJURY_DEGREES))
    out.text("。")
    if rng.random() < 0.5:
        out.text("医疗费共计")
        out.value(("medical_cost",), _amount(rng, 1000, 80000))
        out.text("。")


def _render_drunk_driving(out: _Builder, rng: random.Random, case: _Case) -> None:
    driver = case.by_role("defendant")[0].name
    out.text(f"{driver}酒后驾驶车牌号为")
    out.value(("plate",), _plate(rng, case.region))
    out.text("的")
    out.value(("car",), rng.choice(_CARS))
    out.text("行驶至")
    out.value(
        ("place",),
        f"{case.region.prefix}{rng.choice(_ROADS)}{rng.choice(('路口', '收费站', '隧道口'))}",
    )
    out.text(f"时，被执勤民警查获。经鉴定，{driver}血液中乙醇含量为")
    out.value(("bac",), f"{rng.uniform(80, 260):.1f}mg/100ml")
    out.text("。")


_EVENT_RENDERERS: Mapping[str, Callable[[_Builder, random.Random, _Case], None]] = {
    "theft": _render_theft,
    "fraud": _render_fraud,
    "assault": _render_assault,
    "drunk_driving": _render_drunk_driving,
}


def _render_aftermath(out: _Builder, rng: random.Random, case: _Case) -> None:
    """Confession and compensation statements, each for one defendant at most."""
    defendants = [i for i, person in enumerate(case.people) if person.role == "defendant"]
    victims = case.by_role("victim")
    sentences = []
    if rng.random() < 0.6:
        index = rng.choice(defendants)
        person = case.people[index]
        confessed = rng.random() < 0.5
        case.yes_no[("confessed", str(index))] = confessed
        sentences.append(
            f"{person.name}到案后如实供述了自己的罪行。"
            if confessed
            else f"{person.name}到案后拒不供认犯罪事实。"
        )
    if victims and rng.random() < 0.6:
        index = rng.choice(defendants)
        person = case.people[index]
        paid = rng.random() < 0.5
        case.yes_no[("compensated", str(index))] = paid
        victim = victims[0].name
        sentences.append(
            f"案发后，{person.name}已赔偿{victim}的经济损失并取得谅解。"
            if paid
            else f"案发后，{person.name}一直未赔偿{victim}的经济损失。"
        )
    rng.shuffle(sentences)
    for sentence in sentences:
        out.text(sentence)


def _render_case(rng: random.Random, case: _Case) -> tuple[str, dict[tuple[str, ...], AnswerSpan]]:
    out = _Builder()
    _render_header(out, rng, case, case.day.year + rng.randint(0, 1))
    when = _cn_date(case.day) + rng.choice(
        ("", f"{rng.randint(0, 23)}时许", f"{rng.randint(8, 22)}时{rng.randint(10, 59)}分")
    )

    def profiles() -> None:
        order = list(range(len(case.people)))
        if rng.random() < 0.3:
            rng.shuffle(order)
        for index in order:
            _render_profile(out, rng, case, index)

    def facts() -> None:
        out.value(("time",), when)
        out.text("，")
        _EVENT_RENDERERS[case.kind](out, rng, case)
        _render_aftermath(out, rng, case)

    if case.judgment:
        profiles()
        out.text("经审理查明：")
        facts()
    else:
        out.text("现查明：")
        facts()
        out.text("涉案人员情况如下：")
        profiles()
    evidence = rng.sample(_EVIDENCE[case.kind], rng.randint(2, 4))
    out.text("上述事实，有")
    _render_list(out, case, "evidence", evidence)
    out.text("等证据证实。")
    return out.passage(), out.spans


# --- questions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Question:
    kind: QuestionKind
    text: str
    spans: tuple[AnswerSpan, ...] = ()
    yes: bool | None = None
    fallback: bool = False  # asked only when no other question of its kind fits


_PERSON_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "gender": ("{n}的性别是什么？", "{n}是男性还是女性？"),
    "ethnicity": ("{n}是什么民族？", "{n}的民族是什么？"),
    "birth": ("{n}的出生日期是什么时候？", "{n}是哪天出生的？", "{n}什么时候出生？"),
    "id": ("{n}的身份证号码是多少？", "{n}的公民身份号码是什么？"),
    "address": ("{n}住在哪里？", "{n}的住址是哪里？", "{n}的户籍地在哪里？"),
    "phone": ("{n}的手机号码是多少？", "{n}的联系电话是多少？"),
    "occupation": ("{n}的职业是什么？", "{n}从事什么工作？"),
    "education": ("{n}的文化程度是什么？", "{n}是什么学历？"),
}
_ALL_CASES = ("theft", "fraud", "assault", "drunk_driving")
_CASE_QUESTIONS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # fact: (case kinds where it is asked, wordings); unstated there means no answer
    "time": (_ALL_CASES, ("案发时间是什么时候？", "案件发生在什么时间？")),
    "place": (_ALL_CASES, ("案发地点在哪里？", "案件发生在什么地方？")),
    "case_number": (_ALL_CASES, ("本案的案号是什么？", "本案的案件编号是多少？")),
    "plate": (_ALL_CASES, ("涉案车辆的车牌号是多少？", "涉案车辆的号牌是什么？")),
    "car": (_ALL_CASES, ("涉案车辆是什么车？", "涉案的是一辆什么车？")),
    "tool": (("theft",), ("作案使用了什么工具？", "用什么工具撬开的门锁？")),
    "amount": (("theft", "fraud"), ("涉案金额是多少？", "本案涉及的金额是多少元？")),
    "pretext": (("fraud",), ("以什么理由骗取钱款？", "行骗时用了什么借口？")),
    "usage": (("fraud",), ("骗来的钱被用于什么？", "所骗钱款用在了哪里？")),
    "cause": (("assault",), ("双方因为什么发生争执？", "争执的起因是什么？")),
    "weapon": (("assault",), ("行凶使用了什么工具？", "被害人是被什么打伤的？")),
    "injury_degree": (("assault",), ("被害人的损伤程度如何？", "被害人的伤情被鉴定为什么等级？")),
    "medical_cost": (("assault",), ("医疗费共计多少钱？", "被害人花了多少医疗费？")),
    "bac": (("drunk_driving",), ("驾驶人血液中的乙醇含量是多少？", "酒精检测结果是多少？")),
}
_LIST_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "items": ("被盗走了哪些物品？", "被偷的东西有哪些？"),
    "injuries": ("被害人受了哪些伤？", "被害人的伤情有哪些？"),
    "evidence": ("本案有哪些证据？", "哪些证据证实了上述事实？"),
}
_ROLE_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "defendant": ("本案的{r}有哪些？", "本案的{r}是谁？"),
    "victim": ("本案的被害人是谁？", "谁是本案的被害人？"),
    "witness": ("本案的证人有哪些？", "本案的证人是谁？"),
}
_YES_NO_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "record": ("{n}是否有前科？", "{n}以前有没有犯罪记录？", "{n}此前是否受过刑事处罚？"),
    "confessed": ("{n}到案后是否如实供述？", "{n}是否承认了犯罪事实？"),
    "compensated": ("{n}是否赔偿了被害人的损失？", "{n}有没有赔偿被害人？"),
}


def _span_question(text: str, spans: Sequence[AnswerSpan]) -> _Question:
    kind = QuestionKind.MULTI if len(spans) > 1 else QuestionKind.SINGLE
    return _Question(kind, text, tuple(sorted(spans, key=lambda span: span.start)))


def _located_or_none(text: str, spans: Sequence[AnswerSpan | None]) -> _Question:
    located = [span for span in spans if span is not None]
    return _span_question(text, located) if located else _Question(QuestionKind.NO_ANSWER, text)


def _person_questions(
    rng: random.Random, case: _Case, spans: Mapping[tuple[str, ...], AnswerSpan]
) -> Iterable[_Question]:
    for index, person in enumerate(case.people):
        for attribute, wordings in _PERSON_QUESTIONS.items():
            text = rng.choice(wordings).format(n=person.name)
            yield _located_or_none(text, [spans.get((attribute, str(index)))])
        for fact, wordings in _YES_NO_QUESTIONS.items():
            if fact != "record" and person.role != "defendant":
                continue
            if fact == "compensated" and not case.by_role("victim"):
                continue
            text = rng.choice(wordings).format(n=person.name)
            stated = case.yes_no.get((fact, str(index)))
            if stated is None:
                yield _Question(QuestionKind.NO_ANSWER, text)
            else:
                yield _Question(QuestionKind.YES_NO, text, yes=stated)


def _case_questions(
    rng: random.Random, case: _Case, spans: Mapping[tuple[str, ...], AnswerSpan]
) -> Iterable[_Question]:
    authority = "court" if case.judgment else "police"
    yield _span_question(rng.choice(_AUTHORITY_QUESTIONS[authority]), [spans[(authority,)]])
    for fact, (case_kinds, wordings) in _CASE_QUESTIONS.items():
        if case.kind in case_kinds:
            yield _located_or_none(rng.choice(wordings), [spans.get((fact,))])
    for name, keys in case.list_keys.items():
        question = _span_question(rng.choice(_LIST_QUESTIONS[name]), [spans[key] for key in keys])
        # every passage lists evidence: keep it from crowding out the other multi-span questions
        yield replace(question, fallback=name == "evidence")
    for role, wordings in _ROLE_QUESTIONS.items():
        names = [spans[("name", str(i))] for i, p in enumerate(case.people) if p.role == role]
        text = rng.choice(wordings).format(r=_role_label(role, case.judgment))
        yield _located_or_none(text, names)


_AUTHORITY_QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "court": ("本案由哪个法院审理？", "审理本案的法院是哪个？"),
    "police": ("本案由哪个公安机关受理？", "受理本案的公安机关是哪个？"),
}


# --- examples -----------------------------------------------------------------------------------


def _roles(rng: random.Random, kind: str) -> list[str]:
    size = rng.randint(2, 4)
    if kind == "drunk_driving":
        return ["defendant"] + ["witness"] * (size - 1)
    defendants = rng.randint(1, min(3, size - 1))
    return ["defendant"] * defendants + ["victim"] + ["witness"] * (size - 1 - defendants)


def _new_passage(rng: random.Random) -> tuple[str, list[_Question], str]:
    """A passage within the length bounds and the questions about it."""
    while True:
        kind = rng.choice(_ALL_CASES)
        case = _Case(
            kind=kind,
            judgment=rng.random() < 0.6,
            region=rng.choice(_REGIONS),
            day=_random_date(rng, 2018, 2024),
            people=_make_people(rng, _roles(rng, kind)),
        )
        passage, spans = _render_case(rng, case)
        if MIN_PASSAGE_CHARS <= len(passage) <= MAX_PASSAGE_CHARS:
            questions = [*_person_questions(rng, case, spans), *_case_questions(rng, case, spans)]
            return passage, questions, kind


def check_mix(mix: Mapping[QuestionKind, float]) -> None:
    """Raise ValueError unless ``mix`` maps question kinds to shares >= 0, not all 0."""
    unknown = [kind for kind in mix if kind not in set(QuestionKind)]
    if unknown:
        raise ValueError(f"unknown question kinds in mix: {unknown}")
    if any(not share >= 0 for share in mix.values()) or sum(mix.values()) <= 0:
        shares = {str(kind): share for kind, share in mix.items()}
        raise ValueError(f"mix shares must be >= 0 and not all 0, got {shares}")


def _kind_quota(n: int, mix: Mapping[QuestionKind, float]) -> list[QuestionKind]:
    """Exactly ``n`` kinds in the proportions of ``mix`` (largest remainders get the rest)."""
    check_mix(mix)
    total = sum(mix.values())
    exact = {kind: n * mix.get(kind, 0.0) / total for kind in QuestionKind}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(QuestionKind, key=lambda kind: counts[kind] - exact[kind])
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    return [kind for kind in QuestionKind for _ in range(counts[kind])]


def _to_example(question: _Question, passage: str, example_id: str, case_kind: str) -> QAExample:
    if question.kind is QuestionKind.YES_NO:
        answer_type = AnswerType.YES if question.yes else AnswerType.NO
        references: tuple[tuple[str, ...], ...] = ((answer_type.name,),)
    elif question.kind is QuestionKind.NO_ANSWER:
        answer_type, references = AnswerType.NONE, (("",),)
    else:
        answer_type = AnswerType.SPAN
        references = (tuple(span.text for span in question.spans),)
    return QAExample(
        id=example_id,
        question=question.text,
        passage=passage,
        answers=question.spans,
        answer_type=answer_type,
        references=references,
        domain=DOMAIN,
        extra={"question_kind": question.kind.value, "case_kind": case_kind},
    )


def generate_examples(
    n: int,
    seed: int,
    *,
    split: str = "train",
    mix: Mapping[QuestionKind, float] = DEFAULT_MIX,
) -> list[QAExample]:
    """``n`` examples, the same for the same (seed, split); different splits share no passage.

    Question kinds follow ``mix`` exactly up to rounding; each passage carries 1 to
    ``MAX_QUESTIONS_PER_PASSAGE`` different questions. Ids are ``{split}-{seed}-{passage}-{q}``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(f"rc-extract-sample/{seed}/{split}")
    pending = _kind_quota(n, mix)
    rng.shuffle(pending)
    examples: list[QAExample] = []
    passage_index = 0
    while pending:
        passage, candidates, case_kind = _new_passage(rng)
        rng.shuffle(candidates)
        candidates.sort(key=lambda question: question.fallback)
        size = rng.randint(1, MAX_QUESTIONS_PER_PASSAGE)
        wanted, pending = pending[:size], pending[size:]
        asked: list[_Question] = []
        for kind in wanted:
            match = next((q for q in candidates if q.kind is kind and q not in asked), None)
            if match is None:
                pending.append(kind)
            else:
                asked.append(match)
        for number, question in enumerate(asked):
            example_id = f"{split}-{seed}-{passage_index:05d}-{number}"
            examples.append(_to_example(question, passage, example_id, case_kind))
        passage_index += 1
    return examples


# --- The command line --------------------------------------------------------------------------


def describe(examples: Sequence[QAExample]) -> str:
    """Counts per answer kind, e.g. ``single 55, multi 15, yes_no 15 (yes 8, no 7), none 15``."""
    kinds = Counter(example.extra["question_kind"] for example in examples)
    types = Counter(example.answer_type for example in examples)
    return (
        f"single {kinds[QuestionKind.SINGLE]}, multi {kinds[QuestionKind.MULTI]}, "
        f"yes_no {kinds[QuestionKind.YES_NO]} (yes {types[AnswerType.YES]}, "
        f"no {types[AnswerType.NO]}), none {kinds[QuestionKind.NO_ANSWER]}"
    )


def parse_mix(text: str) -> dict[QuestionKind, float]:
    """``single=0.55,multi=0.15,yes_no=0.15,none=0.15`` (kinds left out get 0)."""
    mix: dict[QuestionKind, float] = {}
    for item in text.split(","):
        name, _, share = item.partition("=")
        try:
            kind = QuestionKind(name.strip())
            mix[kind] = float(share)
        except ValueError:
            kinds = ", ".join(kind.value for kind in QuestionKind)
            raise ValueError(
                f"bad mix entry {item!r}: expected KIND=SHARE with KIND one of {kinds}"
            ) from None
    check_mix(mix)
    return mix


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return int(text)


def _mix(text: str) -> dict[QuestionKind, float]:
    try:
        return parse_mix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model.sample_data",
        description="Write synthetic Chinese case-record questions as train.jsonl and dev.jsonl.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--train", type=_count, default=2000, help="training questions")
    parser.add_argument("--dev", type=_count, default=200, help="dev questions")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files")
    parser.add_argument(
        "--mix",
        type=_mix,
        default=DEFAULT_MIX,
        help="question kinds, e.g. single=0.55,multi=0.15,yes_no=0.15,none=0.15",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for split, count in (("train", args.train), ("dev", args.dev)):
            examples = generate_examples(count, args.seed, split=split, mix=args.mix)
            path = args.out / f"{split}.jsonl"
            write_jsonl(examples, path)
            passages = len({example.passage for example in examples})
            logger.info(
                "wrote %d questions on %d passages to %s: %s",
                len(examples), passages, path, describe(examples),
            )  # fmt: skip
    except OSError as error:
        logger.error("could not write to %s: %s", args.out, error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
