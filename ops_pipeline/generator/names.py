"""Fixed vocabularies: channels, regions, platforms, Chinese names and titles.

Kept apart from the simulation so the numbers code reads cleanly and so the
vocabularies can be extended without touching any logic.
"""

from __future__ import annotations

from ops_pipeline.contract import EVENT_PLATFORMS

CHANNELS = ("organic", "douyin_ads", "baidu_sem", "wechat_ads", "xiaohongshu_ads", "kol")
CHANNEL_SHARES = (0.36, 0.20, 0.10, 0.14, 0.12, 0.08)
PAID_CHANNELS = ("douyin_ads", "baidu_sem", "wechat_ads", "xiaohongshu_ads")
CAMPAIGN_PREFIX = {"douyin_ads": "dy", "baidu_sem": "bd", "wechat_ads": "wx", "xiaohongshu_ads": "xhs"}
# Typical cost per registered user by channel (yuan); each campaign varies around it.
CHANNEL_CAC = {"douyin_ads": 45.0, "baidu_sem": 85.0, "wechat_ads": 65.0, "xiaohongshu_ads": 75.0}
CAMPAIGN_THEMES = {
    "douyin_ads": ("抖音信息流-新客拉新", "抖音直播间引流", "抖音达人共创", "抖音搜索-品牌专区"),
    "baidu_sem": ("百度搜索-品牌词", "百度搜索-品类词", "百度信息流-泛人群"),
    "wechat_ads": ("朋友圈广告-新客", "公众号底部广告", "视频号信息流", "小程序激励广告"),
    "xiaohongshu_ads": ("小红书种草-笔记投放", "小红书搜索-关键词", "小红书薯条加热"),
}

PLATFORM_SHARES = {"ios": 0.35, "android": 0.45, "web": 0.08, "mini_program": 0.12}
PLATFORM_WEIGHTS = tuple(PLATFORM_SHARES[p] for p in EVENT_PLATFORMS)
APP_PLATFORMS = ("ios", "android")  # sessions open with app_open; the others with page_view
# (old version, new version) per platform; the new one rolls out over the range.
APP_VERSIONS = {
    "ios": ("5.2.0", "5.3.1"),
    "android": ("5.2.3", "5.3.0"),
    "web": ("web-2026.1", "web-2026.2"),
    "mini_program": ("3.8.2", "3.9.0"),
}

REGIONS = (
    ("广东", 14),
    ("江苏", 8),
    ("山东", 7),
    ("浙江", 7),
    ("河南", 6),
    ("四川", 6),
    ("北京", 5),
    ("上海", 5),
    ("湖北", 5),
    ("福建", 5),
    ("湖南", 4),
    ("河北", 4),
    ("安徽", 4),
    ("陕西", 3),
    ("辽宁", 3),
    ("重庆", 3),
    ("广西", 3),
    ("云南", 2),
    ("江西", 2),
    ("天津", 2),
    ("黑龙江", 1),
)

SEARCH_KEYWORDS = (
    "防晒霜",
    "蓝牙耳机",
    "咖啡豆",
    "连衣裙",
    "洗面奶",
    "猫粮",
    "运动鞋",
    "保温杯",
    "口红",
    "零食大礼包",
    "扫地机器人",
    "羽绒服",
    "面膜",
    "儿童绘本",
    "茶叶",
)
SHARE_TARGETS = ("wechat_friend", "wechat_moments", "weibo", "qq", "copy_link")

KOL_PLATFORMS = ("douyin", "xiaohongshu", "weibo", "bilibili")
KOL_NAMES = (
    "美妆小鹿",
    "数码老王",
    "吃货阿甘",
    "健身教练Ken",
    "穿搭日记Lily",
    "宝妈小雨",
    "旅行的猫",
    "科技侦探",
    "厨房里的小确幸",
    "护肤研究所",
    "学霸笔记君",
    "露营老张",
    "咖啡师阿杰",
    "萌宠一家",
    "理财小白兔",
    "家居改造王",
    "球鞋收藏家",
    "读书的鱼",
    "游戏解说大熊",
    "国货测评官",
    "职场姐姐",
    "平价好物控",
    "手工达人米粒",
    "城市漫步者",
    "减脂食堂",
)

CONTENT_PLATFORMS = ("wechat", "weibo", "douyin", "bilibili", "xiaohongshu", "zhihu")
CONTENT_FORMATS = {
    "wechat": ("article", "image_text"),
    "weibo": ("image_text", "video"),
    "douyin": ("video", "live"),
    "bilibili": ("video", "live"),
    "xiaohongshu": ("image_text", "video"),
    "zhihu": ("article", "image_text"),
}
# Some titles carry ASCII commas and double quotes on purpose: CSV quoting must hold.
CONTENT_TITLES = (
    "双11攻略：这5件好物，闭眼入！",
    '被问爆的"懒人"早餐，3分钟搞定',
    "新品上线｜春季护肤指南",
    "打工人的一周带饭食谱",
    '为什么说"国货之光"不是噱头？',
    "直播回放：宠物用品专场",
    "开箱测评,这款耳机值不值得买",
    "618省钱清单（建议收藏）",
    "小户型收纳的10个技巧",
    '用户故事："我在这里找到了宝藏店铺"',
    "一图看懂会员积分新规则",
    "露营装备怎么选？看这篇就够了",
    "秋冬穿搭，3套公式轻松出片",
    "咖啡小白入门：从豆子到杯子",
    "直播：周末零食节，满199减50",
    "宝宝辅食添加时间表",
    '"种草"还是"拔草"？真实用户说了算',
    "年货节必买清单",
    "健身新手的第一份训练计划",
    "如何挑选一款合适的扫地机器人",
    "品牌故事｜我们为什么做这件事",
    "平价彩妆红黑榜, 第3期",
    "春日野餐便当合集",
    "护肤成分党必看：烟酰胺怎么用",
    "学生党开学必备好物",
    "“双十二”预告：这些券别错过",
    "职场穿搭：通勤也可以很好看",
    "租房改造，花500块焕新出租屋",
    "猫咪不爱喝水怎么办？",
    "一周减脂餐，好吃不挨饿",
    "手机拍照技巧，小白也能拍大片",
    "读书分享：今年最值得读的5本书",
    "旅行收纳术, 一个箱子走天下",
    "会员日直播：神秘嘉宾空降",
    '网友热议的"平替"到底值不值',
    "冬季保湿，油皮干皮分开说",
    "家电以旧换新怎么最划算",
    "城市周末去哪儿：上海篇",
    "新手养绿植不踩坑指南",
    "直播间福利：整点抽免单",
    "夏季防晒全攻略，防晒霜怎么涂才对",
    "数码好物年度盘点",
    "亲子手工：用纸盒做城堡",
    '"早C晚A"适合你吗？',
    "宿舍好物清单，第2弹",
)

PINYIN = (
    "zhang",
    "wang",
    "li",
    "chen",
    "liu",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "lin",
    "luo",
    "gao",
    "xiaoyu",
    "mingming",
    "tingting",
    "haoran",
)
EMAIL_DOMAINS = (
    ("qq.com", 40),
    ("163.com", 25),
    ("126.com", 8),
    ("foxmail.com", 8),
    ("sina.com", 7),
    ("gmail.com", 6),
    ("outlook.com", 6),
)
PHONE_PREFIXES = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    166,
    173,
    175,
    176,
    177,
    178,
    180,
    181,
    182,
    183,
    185,
    186,
    187,
    188,
    189,
    191,
    198,
    199,
)
