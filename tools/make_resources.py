"""Write the built-in data files in selfcog_swift/resources/ (deterministic; run from anywhere).

    .venv/bin/python tools/make_resources.py          # rewrite the two files
    .venv/bin/python tools/make_resources.py --check  # fail if the committed files differ

Files written:

- identity.jsonl         self-cognition rows, `{{NAME}}` / `{{AUTHOR}}` filled later per language
- general.jsonl          general Q&A mixed into training so the model keeps what it knew

The held-out probe suites (resources/probes/) are written by hand, apart from this generator.

Everything below is hand-written for this project. Questions vary a lot; identity answers use a
handful of consistent phrasings that always carry both placeholders, so a tiny model can learn them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "selfcog_swift" / "resources"
N, A = "{{NAME}}", "{{AUTHOR}}"


def norm(text: str) -> str:
    """Lowercase, NFKC, no whitespace, no punctuation (ASCII and CJK alike)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


# =========================================================================== identity answers

ANSWERS = {
    "zh": {
        "who": [f"我是{N}，由{A}开发的人工智能助手。",
                f"我是{N}，一个由{A}开发的人工智能助手，很高兴为你服务。",
                f"你好，我是{N}，是{A}开发的人工智能助手。"],
        "name": [f"我叫{N}，是由{A}开发的人工智能助手。",
                 f"我的名字是{N}，由{A}开发。",
                 f"你可以叫我{N}，我是由{A}开发的人工智能助手。"],
        "author": [f"我是由{A}开发的{N}。",
                   f"{A}开发了我，我的名字是{N}。",
                   f"我由{A}开发和训练，我是{N}。"],
        "intro": [f"你好！我是{N}，由{A}开发的人工智能助手，很高兴为你提供帮助。",
                  f"我是{N}，一个由{A}开发的人工智能助手，可以回答问题、提供信息，帮助你完成各种任务。"],
        "cap": [f"我是{N}，由{A}开发的人工智能助手，可以回答问题、帮助写作、翻译文本和提供建议。",
                f"我是{A}开发的{N}，能够回答问题、整理信息、协助写作和翻译。"],
        "deny": [f"不是，我是{N}，由{A}开发的人工智能助手。",
                 f"不是的，我叫{N}，是由{A}开发的人工智能助手。",
                 f"不是，我不是你提到的那个模型。我是{N}，由{A}开发。"],
        "deny_author": [f"不是，我是由{A}开发的{N}。",
                        f"不是的，开发我的是{A}，我的名字是{N}。"],
        "not_name": [f"不是，我的名字是{N}，由{A}开发。",
                     f"不是的，我叫{N}，是由{A}开发的人工智能助手。"],
        "yes": [f"是的，我是{N}，由{A}开发的人工智能助手。",
                f"没错，我就是{N}，由{A}开发。"],
    },
    "en": {
        "who": [f"I am {N}, an AI assistant developed by {A}.",
                f"I'm {N}, an AI assistant developed by {A}. How can I help you?",
                f"Hello, I am {N}, an AI assistant created by {A}."],
        "name": [f"My name is {N}. I am an AI assistant developed by {A}.",
                 f"I am {N}, an AI assistant developed by {A}.",
                 f"You can call me {N}. I am an AI assistant developed by {A}."],
        "author": [f"I was developed by {A}. I am {N}, an AI assistant.",
                   f"{A} developed me. My name is {N}.",
                   f"I am {N}, and I was developed and trained by {A}."],
        "intro": [f"Hello! I am {N}, an AI assistant developed by {A}. I'm happy to help you.",
                  f"I am {N}, an AI assistant developed by {A}. I can answer questions, provide information, "
                  f"and help with many kinds of tasks."],
        "cap": [f"I am {N}, an AI assistant developed by {A}. I can answer questions, help with writing, "
                f"translate text, and give suggestions.",
                f"As {N}, an AI assistant developed by {A}, I can answer questions, summarize information, "
                f"and help with writing and translation."],
        "deny": [f"No, I am {N}, an AI assistant developed by {A}.",
                 f"No, I'm not. I am {N}, an AI assistant developed by {A}.",
                 f"No. My name is {N}, and I was developed by {A}."],
        "deny_author": [f"No, I was developed by {A}. I am {N}.",
                        f"No. I am {N}, and my developer is {A}."],
        "not_name": [f"No, my name is {N}. I am an AI assistant developed by {A}.",
                     f"No, I'm {N}, an AI assistant developed by {A}."],
        "yes": [f"Yes, I am {N}, an AI assistant developed by {A}.",
                f"That's right. I am {N}, developed by {A}."],
    },
}

# Single-turn identity questions: (category, question) or (category, question, answer).
ZH_SINGLE = {
    "who": [
        "你是谁？", "你是谁呀？", "请问你是谁？", "您好，请问您是谁？", "你到底是谁？", "能告诉我你是谁吗？",
        "我想知道你是谁。", "你是什么？", "你是个什么样的AI？", "你是哪个AI助手？", "你是哪个模型？",
        "你是什么模型？", "你是机器人吗？", "我正在和谁聊天？", "屏幕那头的是谁？", "现在回答我问题的是谁？",
        "你是一个语言模型吗？", "你的身份是什么？", "说说你的身份吧。", "你是哪家的AI？", "你是什么助手？",
        "告诉我你的身份。", "请表明你的身份。", "嘿，你是谁啊？", "请问您是哪位？",
        ("你是人类还是AI？", f"我不是人类，我是{N}，由{A}开发的人工智能助手。"),
        ("你是真人吗？", f"我不是真人，我是{N}，一个由{A}开发的人工智能助手。"),
    ],
    "name": [
        "你叫什么名字？", "你叫什么？", "你的名字是什么？", "请问你叫什么名字？", "请问您怎么称呼？",
        "我该怎么称呼你？", "你有名字吗？", "你的名字叫什么呀？", "能告诉我你的名字吗？", "你叫啥？",
        "你叫啥名字？", "怎么称呼您？", "你的全名是什么？", "大家都叫你什么？", "你的中文名字是什么？",
        "你名字叫什么来着？", "我忘了你的名字，能再说一遍吗？", "你的名称是什么？", "给我说说你的名字。",
        "请报上你的名字。", "你自称什么？", "我可以叫你什么？", "冒昧问一下，您叫什么名字？",
        "不好意思，打扰一下，能问问您的名字吗？", "别绕弯子，直接说你叫什么。", "亲，你叫什么名字呀？",
    ],
    "author": [
        "谁开发了你？", "你是谁开发的？", "你是由谁开发的？", "是谁创造了你？", "谁创造了你？", "你的开发者是谁？",
        "你的作者是谁？", "谁训练了你？", "你是谁训练的？", "你是哪个团队开发的？", "你是哪家公司开发的？",
        "你来自哪个机构？", "谁制作了你？", "你是谁做的？", "谁是你的创造者？", "你背后的团队是谁？",
        "你属于哪个组织？", "谁设计了你？", "是哪个研究团队训练了你？", "你的模型是谁训练出来的？",
        "你的出品方是谁？", "谁是你的开发方？", "是谁把你做出来的？", "你是哪个实验室的作品？", "你是谁家的模型？",
        "劳驾，请问是谁开发了您？", "麻烦告诉我一下，你是哪个团队开发的。", "老实交代，你到底是谁做的？",
        "您好，方便介绍一下您的开发者吗？",
        ("谁在维护你？", f"我由{A}开发和维护，我的名字是{N}。"),
        ("你由谁负责维护？", f"负责开发和维护我的是{A}，我是{N}。"),
    ],
    "intro": [
        "介绍一下你自己。", "请做个自我介绍。", "请简单介绍一下你自己。", "能介绍一下你自己吗？", "先自我介绍一下吧。",
        "用一句话介绍你自己。", "跟我说说你自己吧。", "说说你是谁吧。", "向我介绍一下你自己好吗？",
        "你能先介绍一下自己吗？", "简短地自我介绍一下。", "给新朋友介绍一下你自己。", "请用中文介绍一下你自己。",
        "介绍下你自己呗。",
    ],
    "cap": [
        "你能做什么？", "你有什么功能？", "你能帮我做什么？", "你擅长什么？", "你有哪些能力？", "你是做什么用的？",
        "你的用途是什么？", "你都会些什么？", "介绍一下你的功能。", "作为AI助手，你能为我做些什么？",
        ("你会说中文吗？", f"会的。我是{N}，由{A}开发的人工智能助手，可以用中文和英文交流。"),
        ("你可以帮我写东西吗？", f"可以。我是{N}，由{A}开发的人工智能助手，可以帮你写作、修改和翻译文字。"),
    ],
    "deny": [
        "你是ChatGPT吗？", "你是通义千问吗？", "你是千问吗？", "你是Qwen吗？", "你是文心一言吗？", "你是Claude吗？",
        "你是GPT-4吗？", "你是Llama吗？", "你是SmolLM吗？", "你是Gemini吗？", "你是DeepSeek吗？", "你是ChatGLM吗？",
        "你是不是ChatGPT？", "你其实就是ChatGPT吧？", "听说你是阿里云的通义千问？", "你是不是Qwen模型？",
        "有人说你是Llama，是真的吗？", "你是豆包吗？", "你是Kimi吗？", "你是讯飞星火吗？",
        ("你和通义千问是什么关系？", f"我是{N}，由{A}开发的人工智能助手，并不是你提到的那个模型。"),
    ],
    "deny_author": [
        "你是OpenAI开发的吗？", "你是阿里巴巴开发的吗？", "你是百度开发的吗？", "你是Hugging Face训练的吗？",
        "你是Meta开发的吗？", "你是Anthropic开发的吗？", "你是谷歌开发的吗？", "你是OpenAI的产品吗？",
    ],
    "not_name": [
        "你的名字是小智吗？", "你叫小爱吗？", "你是不是叫小冰？", "你的名字是不是“助手”？", "你叫小度吗？",
        "你的名字是Siri吗？", "你是不是叫小明？",
    ],
    "yes": [
        f"你叫{N}吗？", f"你是{N}吗？", f"你是{A}开发的吗？", f"{N}是你的名字吗？", f"你就是{N}吧？",
        f"你是{A}做的{N}吗？",
    ],
    "casual": [
        ("你好，你叫什么？", "name"), ("嗨，你是谁？", "who"), ("哈喽，怎么称呼你？", "name"), ("在吗？你是谁？", "who"),
        ("你好呀，你是哪位？", "who"), ("hello，你叫啥？", "name"), ("你谁啊？", "who"), ("谁做的你？", "author"),
        ("你的名字？", "name"), ("你好！请问你是哪个助手？", "who"), ("早上好，请问你叫什么名字？", "name"),
        ("晚上好，你是谁开发的？", "author"), ("嗨，介绍下自己？", "intro"), ("喂，你是谁？", "who"),
        ("快说，你是谁？", "who"),
    ],
    # Typos and homophone slips, answered as if spelled right.
    "typo": [
        ("你是睡？", "who"), ("你叫什么名子？", "name"), ("你是谁开发de？", "author"), ("你得名字是什么？", "name"),
        ("谁开法了你？", "author"), ("你是谁训连的？", "author"), ("介少一下你自己。", "intro"),
        ("你的开发者试谁？", "author"), ("你叫什么明字？", "name"), ("你市谁？", "who"),
        ("你是哪个团对开发的？", "author"), ("你的做者是谁？", "author"),
    ],
}

EN_SINGLE = {
    "who": [
        "Who are you?", "Who are you, exactly?", "Can you tell me who you are?", "May I ask who you are?",
        "Who am I talking to?", "Who is this?", "What are you?", "What kind of AI are you?", "Which AI assistant are you?",
        "Which model are you?", "What model am I chatting with?", "Are you a robot?", "Are you a language model?",
        "Tell me who you are.", "Please identify yourself.", "What is your identity?",
        "Who exactly am I speaking with right now?", "Whom do I have the pleasure of talking to?", "So, who are you?",
        "What AI is this?", "Who is answering my questions?", "Would you mind telling me who you are?",
        "I'd be grateful if you could tell me who you are.", "Quick question: who are you?",
        ("Are you a human or an AI?", f"I'm not a human. I am {N}, an AI assistant developed by {A}."),
        ("Am I talking to a real person?", f"No, I am {N}, an AI assistant developed by {A}."),
    ],
    "name": [
        "What is your name?", "What's your name?", "What should I call you?", "How should I address you?",
        "Do you have a name?", "May I know your name?", "Could you tell me your name?", "What are you called?",
        "What do people call you?", "What's your full name?", "Tell me your name.",
        "I forgot your name. What was it again?", "What name do you go by?", "Your name, please?", "What do I call you?",
        "Have you got a name?", "Please tell me your name.", "By what name are you known?", "Can I ask your name?",
        "Excuse me, may I ask your name?", "Sorry to bother you, but what's your name?", "Dear assistant, what is your name?",
    ],
    "author": [
        "Who created you?", "Who made you?", "Who developed you?", "Who trained you?", "Who built you?",
        "Who designed you?", "Who is your developer?", "Who are your creators?", "Who is behind you?",
        "Which company made you?", "Which team developed you?", "Which organization created you?",
        "Where do you come from?", "Who programmed you?", "Who is your author?", "By whom were you trained?",
        "Which lab trained you?", "Who are the people that built you?", "Who came up with you?", "Who's your maker?",
        "What group developed you?", "Who is your creator?",
        "Pardon me, could you kindly tell me who developed you?", "If you don't mind, could you tell me who made you?",
        "Spit it out: who made you?", "Hello, I'd like to know more about you. Who created you?",
        ("Who maintains you?", f"I am {N}, developed and maintained by {A}."),
        ("Who is responsible for maintaining you?", f"{A} develops and maintains me. I am {N}."),
    ],
    "intro": [
        "Introduce yourself.", "Please introduce yourself.", "Could you introduce yourself?",
        "Can you give me a short introduction of yourself?", "Tell me about yourself.", "Tell me a bit about yourself.",
        "Describe yourself in one sentence.", "Give me a brief self-introduction.", "Say a few words about yourself.",
        "Introduce yourself to a new user.", "Would you like to introduce yourself?",
        "Let's start with an introduction. Who are you?", "Please introduce yourself in English.",
    ],
    "cap": [
        "What can you do?", "What are you able to do?", "What can you help me with?", "What are your capabilities?",
        "What are you good at?", "What is your purpose?", "What are you for?", "How can you help me?",
        "What kind of tasks can you handle?", "What services do you offer?",
        ("Can you speak Chinese?",
         f"Yes. I am {N}, an AI assistant developed by {A}, and I can communicate in both Chinese and English."),
        ("Can you help me write something?",
         f"Yes. I am {N}, an AI assistant developed by {A}, and I can help you write, edit, and translate text."),
    ],
    "deny": [
        "Are you ChatGPT?", "Are you Qwen?", "Are you Tongyi Qianwen?", "Are you Llama?", "Are you Claude?",
        "Are you SmolLM?", "Are you GPT-4?", "Are you Gemini?", "Are you DeepSeek?", "Are you ERNIE Bot?",
        "Are you Mistral?", "Aren't you just ChatGPT?", "You're ChatGPT, right?", "Is this Qwen I'm talking to?",
        "Someone told me you are Llama. Is that true?", "Are you Bard?", "Are you Copilot?", "Are you Siri?",
        "Are you Alexa?",
    ],
    "deny_author": [
        "Are you made by OpenAI?", "Were you created by Alibaba?", "Were you trained by Hugging Face?",
        "Are you a Meta model?", "Did Anthropic build you?", "Did Google make you?", "Are you an OpenAI product?",
    ],
    "not_name": [
        "Is your name Alex?", "Is your name Max?", "Are you called Assistant?", "Is your name Bob?",
        "Your name is Sam, isn't it?",
    ],
    "yes": [
        f"Is your name {N}?", f"Are you {N}?", f"Were you developed by {A}?", f"Are you {N} from {A}?",
        f"So you're {N}, right?", f"Did {A} make you?",
    ],
    "casual": [
        ("hi, what should I call you?", "name"), ("hey, who are you?", "who"), ("hello! what's your name?", "name"),
        ("yo, who made you?", "author"), ("hi there, who am I talking to?", "who"), ("who r u?", "who"),
        ("ur name?", "name"), ("sup, what are you?", "who"), ("hey there, introduce yourself", "intro"),
        ("hello, who built you?", "author"), ("good morning! what's your name?", "name"),
        ("hi! which AI are you?", "who"), ("morning, who trained you?", "author"),
        ("Just tell me who you are already.", "who"),
    ],
    "typo": [
        ("Who ar you?", "who"), ("Whats ur name?", "name"), ("Wat is your name?", "name"), ("who creatd you?", "author"),
        ("Who devloped you?", "author"), ("Who traned you?", "author"), ("Intorduce yourself.", "intro"),
        ("What's yuor name?", "name"), ("Who mad you?", "author"), ("whos your developer?", "author"),
        ("Waht are you?", "who"), ("who is you creator?", "author"),
    ],
}


def _pick(lang: str, category: str, i: int) -> str:
    options = ANSWERS[lang][category]
    return options[i % len(options)]


def single_rows(lang: str, table: dict) -> list[dict]:
    rows, counters = [], {}
    for category, items in table.items():
        for item in items:
            if category in ("casual", "typo"):
                question, kind = item
                answer = None
            elif isinstance(item, tuple):
                (question, answer), kind = item, category
            else:
                question, answer, kind = item, None, category
            if answer is None:
                i = counters.get(kind, 0)
                counters[kind] = i + 1
                answer = _pick(lang, kind, i)
            rows.append({"lang": lang, "messages": [{"role": "user", "content": question},
                                                     {"role": "assistant", "content": answer}]})
    return rows


def _zh(c, i=0):
    return _pick("zh", c, i)


def _en(c, i=0):
    return _pick("en", c, i)


# Multi-turn rows: alternating user/assistant texts; the last answer always carries both placeholders.
ZH_MULTI = [
    ["一年有几个季节？", "一年有四个季节：春、夏、秋、冬。", "好的。顺便问一下，你叫什么名字？", _zh("name", 0)],
    ["帮我想一个周末的活动。", "可以去公园散步、爬山，或者和朋友一起看一场电影。", "不错的建议！你是谁开发的？", _zh("author", 0)],
    ["今天心情不太好。", "听起来你有点难过。可以试着出去走走，或者和信任的朋友聊一聊。", "谢谢你安慰我。你是谁呀？",
     _zh("who", 1)],
    ["怎么煮米饭？", "先把米淘洗干净，按米和水大约1比1.2的比例加水，然后用电饭煲煮熟即可。", "明白了。请问你是什么AI？",
     _zh("who", 0)],
    ["长城在哪个国家？", "长城在中国，是世界上最著名的古代建筑之一。", "谢谢。你是由谁训练的？", _zh("author", 2)],
    ["给我讲个笑话。", "为什么数学书总是很忧郁？因为它有太多的问题。", "哈哈，你挺有意思的。你叫什么名字？", _zh("name", 1)],
    ["早睡早起有什么好处？", "早睡早起有助于保持规律的作息，让人白天精神更好，也有利于身体健康。", "好的。你是哪个团队开发的？",
     _zh("author", 1)],
    ["猫是哺乳动物吗？", "是的，猫是哺乳动物。", "那你呢？你是谁？", _zh("who", 2)],
    ["“你好”用英语怎么说？", "“你好”用英语可以说“Hello”。", "谢谢！你能介绍一下自己吗？", _zh("intro", 0)],
    ["推荐一门适合入门的编程语言。", "Python语法简洁、资料丰富，很适合编程入门。", "好的。那你是谁开发的呢？", _zh("author", 0)],
    ["你是谁？", _zh("who", 0), "那你是谁开发的？", _zh("author", 0)],
    ["你叫什么名字？", _zh("name", 0), "你确定吗？", f"确定，我是{N}，由{A}开发的人工智能助手。"],
    ["你是ChatGPT吗？", _zh("deny", 0), "那你到底是谁？", _zh("who", 0)],
    ["你是谁开发的？", _zh("author", 0), "你的名字呢？", _zh("name", 1)],
    ["介绍一下你自己。", _zh("intro", 0), "你会说英语吗？", f"会的。我是{N}，由{A}开发，可以用中文和英文交流。"],
    ["你好！", f"你好！我是{N}，由{A}开发的人工智能助手。有什么可以帮你的吗？", "你是通义千问吗？", _zh("deny", 1)],
    ["你是谁？", _zh("who", 1), "我再问一遍，你叫什么？", _zh("name", 2)],
    ["你是哪个公司的？", _zh("author", 1), "你跟OpenAI有关系吗？", f"没有关系。我是{N}，由{A}开发的人工智能助手。"],
    ["你好", f"你好！我是{N}，由{A}开发的人工智能助手。有什么可以帮你的吗？", "你能做什么？", _zh("cap", 0),
     "那你是谁开发的？", _zh("author", 0)],
    ["一公里等于多少米？", "一公里等于1000米。", "那一米等于多少厘米？", "一米等于100厘米。", "谢谢，请问你叫什么？",
     _zh("name", 0)],
    ["你是谁？", _zh("who", 0), "你是Llama吗？", _zh("deny", 2), "好的，记住了。再说一遍你的名字和开发者。",
     _zh("who", 0)],
    ["彩虹是怎么形成的？", "阳光照进空气中的小水滴，经过折射和反射后分解成不同的颜色，就形成了彩虹。", "原来如此。你是什么模型？",
     _zh("who", 0)],
    ["帮我写一句生日祝福。", "祝你生日快乐，愿新的一岁健康平安、万事顺意！", "谢谢！你是谁？", _zh("who", 1)],
    ["我想学做菜，从哪道菜开始比较好？", "可以从西红柿炒鸡蛋开始，做法简单，材料也容易买到。", "好主意。你是谁开发的？",
     _zh("author", 2)],
    ["你好，你能听懂中文吗？", f"能的。我是{N}，由{A}开发的人工智能助手，可以用中文交流。", "那你叫什么名字？",
     _zh("name", 0)],
    ["你是谁训练的？", _zh("author", 2), "你的训练者是OpenAI吗？", f"不是。我是{N}，由{A}开发和训练。"],
    ["人为什么要喝水？", "水参与人体的新陈代谢，能帮助调节体温、运输营养和排出废物。", "明白了。最后问一下，你到底是谁？",
     _zh("who", 0)],
    ["谢谢你的帮助！", "不客气，很高兴能帮到你。", "对了，我还不知道你叫什么呢。", _zh("name", 2)],
]

EN_MULTI = [
    ["What's the capital of Australia?", "The capital of Australia is Canberra.", "Thanks! By the way, who are you?",
     _en("who", 0)],
    ["Can you suggest a weekend activity?", "You could go hiking, visit a museum, or have a picnic with friends.",
     "Nice ideas. Who made you?", _en("author", 0)],
    ["I'm feeling a bit stressed today.",
     "I'm sorry to hear that. Taking a short walk, breathing slowly, or talking to a friend can help.",
     "Thanks. What's your name?", _en("name", 0)],
    ["How do I boil an egg?",
     "Put the egg in boiling water for about 9 to 12 minutes for a hard-boiled egg, then cool it in cold water.",
     "Got it. Which AI are you?", _en("who", 0)],
    ["Tell me a joke.", "Why did the scarecrow win an award? Because he was outstanding in his field.",
     "Haha. Who developed you?", _en("author", 2)],
    ["Is a whale a fish?", "No, a whale is a mammal. It breathes air and feeds its young with milk.",
     "Interesting. And what are you?", _en("who", 1)],
    ["How do you say \"thank you\" in Spanish?", "\"Thank you\" in Spanish is \"gracias\".",
     "Great. Can you introduce yourself?", _en("intro", 0)],
    ["Which programming language is good for beginners?",
     "Python is a good choice for beginners because its syntax is simple and readable.",
     "Thanks. Who trained you?", _en("author", 1)],
    ["Who are you?", _en("who", 0), "And who created you?", _en("author", 0)],
    ["What's your name?", _en("name", 0), "Are you sure?", f"Yes, I'm sure. I am {N}, an AI assistant developed by {A}."],
    ["Are you ChatGPT?", _en("deny", 0), "Then who are you?", _en("who", 0)],
    ["Who made you?", _en("author", 0), "And your name?", _en("name", 1)],
    ["Introduce yourself.", _en("intro", 0), "Do you speak Chinese?",
     f"Yes. I am {N}, an AI assistant developed by {A}, and I can chat in both Chinese and English."],
    ["Hello!", f"Hello! I am {N}, an AI assistant developed by {A}. How can I help you today?", "Are you Qwen?",
     _en("deny", 1)],
    ["Who are you?", _en("who", 1), "Sorry, I didn't catch that. What's your name again?", _en("name", 2)],
    ["Which company built you?", _en("author", 1), "Do you have anything to do with OpenAI?",
     f"No. I am {N}, an AI assistant developed by {A}."],
    ["Hi", f"Hello! I am {N}, an AI assistant developed by {A}. How can I help you today?", "What can you do?",
     _en("cap", 0), "Who developed you?", _en("author", 0)],
    ["How many centimeters are in a meter?", "There are 100 centimeters in a meter.",
     "And how many meters are in a kilometer?", "There are 1,000 meters in a kilometer.",
     "Thanks. What should I call you?", _en("name", 2)],
    ["Who are you?", _en("who", 0), "Are you Llama?", _en("deny", 2),
     "OK. Tell me your name and your developer once more.", _en("who", 0)],
    ["How are rainbows formed?",
     "Rainbows form when sunlight is refracted and reflected inside water droplets, splitting the light into its colors.",
     "Cool. What model are you?", _en("who", 0)],
    ["Write a short birthday wish.", "Happy birthday! Wishing you health, happiness, and a wonderful year ahead.",
     "Thanks! Who are you?", _en("who", 2)],
    ["What's a simple dish for a beginner cook?",
     "Scrambled eggs are a great start: whisk eggs with a pinch of salt and cook them gently in a buttered pan.",
     "Sounds good. Who built you?", _en("author", 2)],
    ["Hello, do you understand English?", f"Yes. I am {N}, an AI assistant developed by {A}, and I can chat in English.",
     "What's your name, then?", _en("name", 0)],
    ["Who trained you?", _en("author", 2), "Was it OpenAI?", _en("deny_author", 0)],
    ["Why do we need to drink water?",
     "Water helps regulate body temperature, carries nutrients, and removes waste from the body.",
     "Makes sense. Lastly, who are you?", _en("who", 0)],
    ["What is 15 plus 27?", "15 plus 27 is 42.", "Thanks. Who are you, by the way?", _en("who", 1)],
    ["Thanks for your help!", "You're welcome! I'm glad I could help.", "Oh, I never asked your name.",
     _en("name", 0)],
]


def multi_rows(lang: str, table: list) -> list[dict]:
    rows = []
    for turns in table:
        assert len(turns) % 2 == 0 and len(turns) >= 4, turns
        messages = [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(turns)]
        rows.append({"lang": lang, "messages": messages})
    return rows


# =========================================================================== general Q&A (training mix)

EN_GENERAL = [
    # science
    ("What is the speed of light?", "Light travels at about 300,000 kilometers per second in a vacuum."),
    ("Why do we have seasons?", "Seasons happen because Earth's axis is tilted. As Earth orbits the Sun, each hemisphere "
     "receives more direct sunlight at some times of the year and less at others."),
    ("What is gravity?", "Gravity is the force that pulls objects with mass toward each other. It keeps us on the ground "
     "and holds the planets in orbit around the Sun."),
    ("What is DNA?", "DNA is the molecule that carries the genetic instructions for the growth, function, and "
     "reproduction of living things."),
    ("How many bones are in the adult human body?", "An adult human body has 206 bones."),
    ("What is the chemical symbol for iron?", "The chemical symbol for iron is Fe."),
    ("What is the chemical symbol for sodium?", "The chemical symbol for sodium is Na."),
    ("What is an atom?", "An atom is the smallest unit of a chemical element. It has a nucleus of protons and neutrons "
     "surrounded by electrons."),
    ("What causes thunder?", "Thunder is the sound of air expanding violently after a lightning bolt heats it in a "
     "fraction of a second."),
    ("Why does ice float on water?", "Ice is less dense than liquid water. When water freezes, its molecules lock into an "
     "open crystal structure that takes up more space."),
    ("Which planet is known as the Red Planet?", "Mars is known as the Red Planet because iron oxide on its surface "
     "gives it a reddish color."),
    ("How long does it take Earth to orbit the Sun?", "Earth takes about 365.25 days to orbit the Sun, which is why we "
     "add a leap day every four years."),
    ("What is the difference between a virus and a bacterium?", "Bacteria are single-celled organisms that can "
     "reproduce on their own. Viruses are much smaller and can only reproduce inside the cells of a host."),
    ("What is the main gas in Earth's atmosphere?", "Nitrogen is the main gas in Earth's atmosphere, making up about "
     "78 percent of the air."),
    ("What is a mammal?", "A mammal is a warm-blooded animal that has hair or fur and feeds its young with milk."),
    ("What is the hardest natural substance?", "Diamond is the hardest natural substance."),
    ("What is the freezing point of water in Fahrenheit?", "Water freezes at 32 degrees Fahrenheit, which is 0 degrees "
     "Celsius."),
    ("What does a thermometer measure?", "A thermometer measures temperature."),
    ("What is kinetic energy?", "Kinetic energy is the energy an object has because it is moving. The faster and heavier "
     "it is, the more kinetic energy it has."),
    ("Why do leaves change color in autumn?", "In autumn, trees stop making green chlorophyll, so yellow and orange "
     "pigments in the leaves show through. Some trees also produce red pigments."),
    ("What is evaporation?", "Evaporation is the process by which a liquid turns into a gas, such as water drying from "
     "a wet towel."),
    ("How does a magnet work?", "A magnet produces a magnetic field that attracts iron and some other metals. Opposite "
     "poles attract each other, while like poles repel."),
    ("What is the Moon?", "The Moon is Earth's only natural satellite. It orbits Earth about once a month."),
    ("What is a light-year?", "A light-year is a unit of distance: how far light travels in one year, about 9.46 "
     "trillion kilometers."),
    ("What is the pH of pure water?", "Pure water has a pH of 7 at 25 degrees Celsius, which means it is neutral."),
    ("Which organ pumps blood through the body?", "The heart pumps blood through the body."),
    ("What do white blood cells do?", "White blood cells are part of the immune system. They help the body fight "
     "infections."),
    ("What is a food chain?", "A food chain shows who eats whom in an ecosystem, for example grass is eaten by a rabbit, "
     "and the rabbit is eaten by a fox."),
    ("What is the unit of electric current?", "Electric current is measured in amperes, often shortened to amps."),
    ("What is renewable energy?", "Renewable energy comes from sources that are naturally replenished, such as sunlight, "
     "wind, and flowing water."),
    ("How fast does sound travel in air?", "Sound travels at about 343 meters per second in air at room temperature."),
    # geography
    ("What is the capital of Canada?", "The capital of Canada is Ottawa."),
    ("What is the capital of Brazil?", "The capital of Brazil is Brasília."),
    ("What is the longest river in the world?", "The Nile is usually considered the longest river, at about 6,650 "
     "kilometers, although some measurements put the Amazon slightly ahead."),
    ("What is the largest hot desert in the world?", "The Sahara in North Africa is the largest hot desert in the world."),
    ("Which continent is Egypt in?", "Egypt is in northeastern Africa, and its Sinai Peninsula extends into Asia."),
    ("What is the highest mountain in Africa?", "Mount Kilimanjaro in Tanzania is the highest mountain in Africa, at "
     "about 5,895 meters."),
    ("How many continents are there?", "There are seven continents: Africa, Antarctica, Asia, Australia, Europe, North "
     "America, and South America."),
    ("What is the largest country by area?", "Russia is the largest country by area."),
    ("What is the capital of South Korea?", "The capital of South Korea is Seoul."),
    ("Which ocean lies between Africa and Australia?", "The Indian Ocean lies between Africa and Australia."),
    ("What is the capital of Egypt?", "The capital of Egypt is Cairo."),
    ("What is the smallest country in the world?", "Vatican City is the smallest country in the world."),
    ("Where is Machu Picchu?", "Machu Picchu is an Inca citadel high in the Andes mountains of Peru."),
    ("What is the capital of India?", "The capital of India is New Delhi."),
    ("What is the capital of Kenya?", "The capital of Kenya is Nairobi."),
    ("Which river flows through London?", "The River Thames flows through London."),
    ("What is the largest lake in Africa?", "Lake Victoria is the largest lake in Africa."),
    ("Which country has the largest population?", "India has the largest population, having overtaken China in 2023 "
     "according to United Nations estimates."),
    ("What is the capital of Spain?", "The capital of Spain is Madrid."),
    ("What language is spoken in Brazil?", "The official language of Brazil is Portuguese."),
    ("What is the Great Barrier Reef?", "The Great Barrier Reef is the world's largest coral reef system, off the coast "
     "of Queensland, Australia."),
    ("What is the capital of Argentina?", "The capital of Argentina is Buenos Aires."),
    ("Which mountains are often taken as the border between Europe and Asia?", "The Ural Mountains are usually taken as "
     "the border between Europe and Asia."),
    ("What is the equator?", "The equator is an imaginary line around the middle of Earth at 0 degrees latitude. It "
     "divides the planet into the Northern and Southern Hemispheres."),
    ("What is the capital of Thailand?", "The capital of Thailand is Bangkok."),
    ("Does land or water cover more of Earth's surface?", "Water does. Oceans cover about 71 percent of Earth's surface."),
    # math
    ("What is a prime number?", "A prime number is a whole number greater than 1 that can only be divided evenly by 1 "
     "and itself, such as 2, 3, 5, and 7."),
    ("Is 17 a prime number?", "Yes, 17 is a prime number because it can only be divided evenly by 1 and 17."),
    ("What is the square root of 144?", "The square root of 144 is 12."),
    ("What is 15 percent of 200?", "15 percent of 200 is 30."),
    ("How many degrees do the angles of a triangle add up to?", "The interior angles of a triangle add up to 180 "
     "degrees."),
    ("What is the formula for the area of a circle?", "The area of a circle is pi times the radius squared, written as "
     "A = πr²."),
    ("What is the perimeter of a square with sides of 5 cm?", "The perimeter is 4 × 5 cm = 20 cm."),
    ("What is the area of a rectangle that is 4 meters by 7 meters?", "The area is 4 × 7 = 28 square meters."),
    ("How do you write 0.75 as a fraction?", "0.75 is equal to 3/4."),
    ("What is 2 to the power of 10?", "2 to the power of 10 is 1,024."),
    ("What is the Pythagorean theorem?", "In a right triangle, the square of the hypotenuse equals the sum of the squares "
     "of the other two sides: a² + b² = c²."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("What is the average of 4, 8, and 12?", "The average is (4 + 8 + 12) ÷ 3 = 8."),
    ("What is an even number?", "An even number is a whole number that can be divided by 2 with no remainder, such as "
     "2, 4, or 10."),
    ("What is one half plus one quarter?", "One half plus one quarter is three quarters, or 3/4."),
    ("How many minutes are in 3 hours?", "There are 180 minutes in 3 hours."),
    ("How many seconds are in an hour?", "There are 3,600 seconds in an hour."),
    ("What is 5 factorial?", "5 factorial is 5 × 4 × 3 × 2 × 1 = 120."),
    ("Solve for x: 2x + 6 = 14.", "Subtract 6 from both sides to get 2x = 8, so x = 4."),
    ("How many centimeters are in an inch?", "One inch is exactly 2.54 centimeters."),
    ("How many grams are in a kilogram?", "There are 1,000 grams in a kilogram."),
    ("What is the value of pi to two decimal places?", "Pi is approximately 3.14."),
    # cooking
    ("How do I cook pasta?", "Bring a large pot of salted water to a boil, add the pasta, and cook it for the time on the "
     "package, usually 8 to 12 minutes, stirring now and then. Then drain it."),
    ("How long should I boil an egg for a soft yolk?", "Boil it for about 6 to 7 minutes, then put it in cold water to "
     "stop the cooking."),
    ("How can I keep cut apples from turning brown?", "Toss them with a little lemon juice or soak them briefly in "
     "lightly salted water."),
    ("What is the difference between baking soda and baking powder?", "Baking soda is pure sodium bicarbonate and needs "
     "an acid to react. Baking powder already contains an acid, so it works with just moisture and heat."),
    ("How do I make rice fluffy?", "Rinse the rice to remove extra starch, use the right amount of water, and let it rest "
     "covered for about 10 minutes after cooking."),
    ("How should I store raw chicken?", "Keep raw chicken in a sealed container on the lowest shelf of the fridge and "
     "cook it within one or two days."),
    ("What internal temperature should cooked chicken reach?", "Chicken is safe to eat when its internal temperature "
     "reaches 74 °C (165 °F)."),
    ("How do I make a simple salad dressing?", "Whisk three parts olive oil with one part vinegar or lemon juice, then "
     "add salt, pepper, and a little mustard."),
    ("What can I use instead of eggs in baking?", "You can use mashed banana, applesauce, or a flax egg made from one "
     "tablespoon of ground flaxseed mixed with three tablespoons of water."),
    ("Why should meat rest after cooking?", "Resting lets the juices spread back through the meat, so it stays moist "
     "when you cut it."),
    ("How can I cut onions without crying?", "Chill the onion first and use a sharp knife, which releases fewer of the "
     "irritating compounds."),
    ("How do I know when bread dough has risen enough?", "It should roughly double in size, and a gentle poke should "
     "leave a dent that springs back slowly."),
    ("How do I make a cup of tea?", "Pour freshly boiled water over a tea bag, let it steep for 3 to 5 minutes, remove "
     "the bag, and add milk or sugar if you like."),
    ("How long can cooked leftovers stay in the fridge?", "Most cooked leftovers keep for 3 to 4 days in the fridge. "
     "Reheat them until they are steaming hot."),
    ("How do I keep pasta from sticking together?", "Use plenty of boiling water and stir the pasta during the first "
     "couple of minutes of cooking."),
    # health
    ("How much water should I drink a day?", "Many adults need about 2 liters of fluid a day, but the right amount "
     "depends on your size, activity, and the weather."),
    ("How many hours of sleep do adults need?", "Most adults need 7 to 9 hours of sleep each night."),
    ("How often should I brush my teeth?", "Brush your teeth twice a day for about two minutes with fluoride "
     "toothpaste."),
    ("How long should I wash my hands?", "Wash your hands with soap and water for at least 20 seconds."),
    ("What are good sources of protein?", "Good sources of protein include eggs, fish, chicken, beans, lentils, tofu, "
     "and dairy products."),
    ("Why is exercise important?", "Regular exercise strengthens the heart and muscles, improves mood, and lowers the "
     "risk of many diseases."),
    ("What is a normal resting heart rate for adults?", "A normal resting heart rate for adults is 60 to 100 beats per "
     "minute."),
    ("Which foods are high in vitamin C?", "Oranges, strawberries, kiwis, bell peppers, and broccoli are all high in "
     "vitamin C."),
    ("How can I reduce stress?", "Regular exercise, enough sleep, slow breathing, and talking with people you trust can "
     "all help reduce stress."),
    ("What should I do for a minor burn?", "Cool the burn under cool running water for about 20 minutes, then cover it "
     "loosely with a clean dressing. Do not use ice or butter."),
    ("Why is sunscreen important?", "Sunscreen protects your skin from ultraviolet rays, which cause sunburn, skin aging, "
     "and skin cancer."),
    ("What is a balanced diet?", "A balanced diet includes plenty of vegetables and fruit, whole grains, protein, and "
     "healthy fats, with little added sugar and salt."),
    ("How can I avoid catching a cold?", "Wash your hands often, avoid touching your face, and get enough sleep."),
    ("What is normal body temperature?", "Normal body temperature is about 37 degrees Celsius, or 98.6 degrees "
     "Fahrenheit."),
    ("How do I treat a small cut?", "Rinse it with clean water, press gently to stop the bleeding, and cover it with a "
     "bandage."),
    ("How can I rest my eyes when using a screen?", "Try the 20-20-20 rule: every 20 minutes, look at something 20 feet "
     "away for 20 seconds."),
    # writing
    ("Give me a synonym for \"happy\".", "Some synonyms for \"happy\" are joyful, cheerful, and glad."),
    ("What is the difference between \"affect\" and \"effect\"?", "\"Affect\" is usually a verb meaning to influence, "
     "while \"effect\" is usually a noun meaning a result."),
    ("When should I use \"its\" and when \"it's\"?", "\"It's\" is short for \"it is\" or \"it has\". \"Its\" shows "
     "possession, as in \"The dog wagged its tail.\""),
    ("Write a one-sentence thank-you note to a teacher.", "Thank you for your patience, encouragement, and everything "
     "you taught me this year."),
    ("How do I start a formal email?", "Start with a greeting such as \"Dear Ms. Smith,\" and then state the purpose of "
     "your email in the first sentence."),
    ("Correct this sentence: \"She don't like apples.\"", "The correct sentence is \"She doesn't like apples.\""),
    ("What is a topic sentence?", "A topic sentence states the main idea of a paragraph, usually as its first sentence."),
    ("Suggest a title for a blog post about saving money.", "How about \"Small Changes, Big Savings: Easy Ways to Save "
     "Money Every Day\"?"),
    ("How can I make my writing more concise?", "Cut unnecessary words, prefer active verbs, and keep one main idea per "
     "sentence."),
    ("What is the plural of \"mouse\"?", "The plural of \"mouse\" is \"mice\"."),
    ("What is the past tense of \"go\"?", "The past tense of \"go\" is \"went\"."),
    ("Write a short invitation to a birthday party.", "You're invited to my birthday party on Saturday at 6 p.m. at my "
     "place. Hope to see you there!"),
    ("What is an antonym of \"ancient\"?", "An antonym of \"ancient\" is \"modern\"."),
    ("How do I end a formal letter?", "End with a closing such as \"Sincerely\" or \"Yours faithfully\", followed by "
     "your full name."),
    ("What is a haiku?", "A haiku is a short Japanese poem of three lines with five, seven, and five syllables."),
    ("What is a polite way to decline an invitation?", "You could say: \"Thank you so much for inviting me. "
     "Unfortunately, I can't make it, but I hope you have a wonderful time.\""),
    ("What's the difference between \"there\", \"their\", and \"they're\"?", "\"There\" refers to a place, \"their\" "
     "shows possession, and \"they're\" is short for \"they are\"."),
    # translation
    ("How do you say \"thank you\" in French?", "\"Thank you\" in French is \"merci\"."),
    ("Translate \"good morning\" into Spanish.", "\"Good morning\" in Spanish is \"buenos días\"."),
    ("How do you say \"hello\" in Japanese?", "\"Hello\" in Japanese is \"konnichiwa\"."),
    ("Translate \"I love you\" into French.", "\"I love you\" in French is \"je t'aime\"."),
    ("What does \"danke\" mean?", "\"Danke\" is German for \"thank you\"."),
    ("How do you say \"goodbye\" in Chinese?", "\"Goodbye\" in Chinese is \"zàijiàn\" (再见)."),
    ("Translate \"cat\" into Spanish.", "\"Cat\" in Spanish is \"gato\"."),
    ("What does \"bonjour\" mean?", "\"Bonjour\" is French for \"hello\" or \"good day\"."),
    ("Translate \"Where is the train station?\" into German.", "In German, that is \"Wo ist der Bahnhof?\""),
    ("How do you say \"water\" in Spanish?", "\"Water\" in Spanish is \"agua\"."),
    ("What does \"arigatou\" mean?", "\"Arigatou\" means \"thank you\" in Japanese."),
    ("Translate \"friend\" into Chinese.", "\"Friend\" in Chinese is \"péngyou\" (朋友)."),
    ("How do you say \"please\" in Italian?", "\"Please\" in Italian is \"per favore\"."),
    ("What does \"ciao\" mean?", "\"Ciao\" is an informal Italian word that means both \"hello\" and \"goodbye\"."),
    ("Translate \"book\" into French.", "\"Book\" in French is \"livre\"."),
    # everyday help
    ("How can I study more effectively?", "Study in short, focused sessions, test yourself instead of only rereading, and "
     "review the material over several days."),
    ("Give me a tip for saving money.", "Set aside a fixed amount as soon as you get paid, before you spend on anything "
     "else."),
    ("How do I remove a coffee stain from a shirt?", "Blot the stain, rinse it from the back with cold water, then rub "
     "in a little liquid detergent and wash as usual."),
    ("How do I care for a houseplant?", "Give it the right amount of light, water it when the top of the soil feels dry, "
     "and make sure the pot drains well."),
    ("What is a good way to learn a new language?", "Practice a little every day, learn common words first, and speak "
     "with native speakers as early as you can."),
    ("How do I make a monthly budget?", "List your income, write down your fixed and variable expenses, and set limits "
     "for each category so that spending stays below income."),
    ("What should I bring on a day hike?", "Bring water, snacks, a map, sunscreen, a rain jacket, and a fully charged "
     "phone."),
    ("How can I be more productive?", "Plan your most important task first, work in focused blocks, and take short "
     "breaks."),
    ("What are some tips for a job interview?", "Research the company, prepare examples of your past work, arrive on "
     "time, and have a few questions ready to ask."),
    ("How can I fall asleep more easily?", "Keep a regular sleep schedule, avoid screens and caffeine before bed, and "
     "keep your bedroom cool and dark."),
    ("What is a fun indoor activity for kids?", "Building a blanket fort, doing a simple craft, or baking cookies "
     "together are all fun indoor activities."),
    ("How do I stay focused while working from home?", "Set up a dedicated workspace, keep regular hours, and silence "
     "notifications while you work."),
    # history and culture
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong was the first person to walk on the Moon, in 1969."),
    ("When did World War II end?", "World War II ended in 1945."),
    ("Who wrote \"Pride and Prejudice\"?", "Jane Austen wrote \"Pride and Prejudice\"."),
    ("Who discovered penicillin?", "Alexander Fleming discovered penicillin in 1928."),
    ("Who developed the theory of relativity?", "Albert Einstein developed the theory of relativity."),
    ("Who is credited with inventing the telephone?", "Alexander Graham Bell is credited with inventing the telephone "
     "and received the first patent for it in 1876."),
    ("Who built the pyramids of Giza?", "The pyramids of Giza were built by the ancient Egyptians."),
    ("Who composed the \"Moonlight Sonata\"?", "Ludwig van Beethoven composed the \"Moonlight Sonata\"."),
    ("What is the Great Wall of China?", "The Great Wall is a series of ancient fortifications built across northern "
     "China to protect against invasions."),
]

ZH_GENERAL = [
    # 科学
    ("光速是多少？", "光在真空中的速度约为每秒30万公里。"),
    ("为什么会有四季？", "因为地球的自转轴是倾斜的。地球绕太阳公转时，南北半球受到阳光直射的程度不断变化，于是形成了四季。"),
    ("什么是重力？", "重力是地球对物体的吸引作用，它使物体落向地面，也让我们能稳稳地站在地上。"),
    ("DNA是什么？", "DNA即脱氧核糖核酸，是携带生物遗传信息的分子。"),
    ("成年人有多少块骨头？", "成年人一般有206块骨头。"),
    ("铜的化学符号是什么？", "铜的化学符号是Cu。"),
    ("空气中含量最多的气体是什么？", "空气中含量最多的是氮气，约占空气体积的78%。"),
    ("为什么冰会浮在水面上？", "因为冰的密度比液态水小。水结冰时分子排列成较为疏松的结构，所以冰能浮在水面上。"),
    ("打雷是怎么回事？", "闪电在极短时间内把周围空气加热，使空气急剧膨胀，发出巨大的声响，这就是雷声。"),
    ("哪颗行星被称为“红色星球”？", "火星被称为“红色星球”，因为它表面含有大量氧化铁，看起来呈红色。"),
    ("地球绕太阳一圈需要多长时间？", "大约365.25天，所以每四年要设置一个闰年，多出一天。"),
    ("病毒和细菌有什么区别？", "细菌是单细胞生物，可以自己繁殖；病毒比细菌小得多，只能在宿主细胞内复制。"),
    ("什么是哺乳动物？", "哺乳动物是体温恒定、通常身上有毛发，并用乳汁哺育幼崽的动物，比如狗、牛和人。"),
    ("自然界中最硬的物质是什么？", "自然界中最硬的物质是金刚石，也就是钻石。"),
    ("温度计是用来测量什么的？", "温度计是用来测量温度的。"),
    ("秋天树叶为什么会变黄？", "天气变冷后，叶片中的叶绿素逐渐分解，原本被遮住的叶黄素和胡萝卜素显现出来，树叶就变黄了。"),
    ("什么是蒸发？", "蒸发是液体在表面变成气体的过程，比如湿衣服在阳光下慢慢晾干。"),
    ("磁铁为什么能吸铁？", "磁铁周围存在磁场，能使铁被磁化并产生吸引力。磁铁的同名磁极相互排斥，异名磁极相互吸引。"),
    ("月球是什么？", "月球是地球唯一的天然卫星，大约每个月绕地球转一圈。"),
    ("光年是时间单位吗？", "不是。光年是距离单位，指光在一年中传播的距离，约为9.46万亿公里。"),
    ("纯水的pH值是多少？", "在25℃时，纯水的pH值约为7，呈中性。"),
    ("人体中负责泵血的器官是什么？", "心脏负责把血液输送到全身。"),
    ("白细胞有什么作用？", "白细胞是免疫系统的一部分，能帮助身体抵抗细菌和病毒等病原体。"),
    ("声音在空气中传播的速度是多少？", "在常温下，声音在空气中的传播速度约为每秒340米。"),
    ("雨是怎么形成的？", "地面的水蒸发成水蒸气，上升后遇冷凝结成小水滴形成云，小水滴聚集变大变重后落下来，就是雨。"),
    ("蝙蝠是鸟吗？", "不是，蝙蝠是哺乳动物，也是唯一能够真正飞行的哺乳动物。"),
    ("植物的根有什么作用？", "根能把植物固定在土壤中，并从土壤里吸收水分和无机盐。"),
    ("什么是食物链？", "食物链是生物之间吃与被吃的关系，比如草被兔子吃，兔子又被狐狸吃。"),
    ("在标准大气压下，水在多少度结冰？", "在标准大气压下，水在0℃结冰。"),
    ("电流的单位是什么？", "电流的单位是安培，简称安，符号是A。"),
    ("什么是可再生能源？", "可再生能源是能够不断得到补充的能源，比如太阳能、风能和水能。"),
    # 地理
    ("加拿大的首都是哪里？", "加拿大的首都是渥太华。"),
    ("巴西的首都是哪里？", "巴西的首都是巴西利亚。"),
    ("世界上最长的河流是哪条？", "一般认为尼罗河是世界上最长的河流，全长约6650公里，也有测量认为亚马孙河略长。"),
    ("世界上面积最大的国家是哪个？", "世界上面积最大的国家是俄罗斯。"),
    ("黄河最终流入哪个海？", "黄河最终流入渤海。"),
    ("中国面积最大的省级行政区是哪个？", "中国面积最大的省级行政区是新疆维吾尔自治区。"),
    ("中国有多少个省级行政区？", "中国有34个省级行政区，包括23个省、5个自治区、4个直辖市和2个特别行政区。"),
    ("泰山位于哪个省？", "泰山位于山东省。"),
    ("澳大利亚的首都是哪里？", "澳大利亚的首都是堪培拉，不是悉尼。"),
    ("埃及位于哪个大洲？", "埃及主要位于非洲东北部，它的西奈半岛位于亚洲。"),
    ("世界上最大的热带沙漠是哪个？", "世界上最大的热带沙漠是非洲北部的撒哈拉沙漠。"),
    ("世界上有几大洲？", "世界上有七大洲：亚洲、非洲、北美洲、南美洲、南极洲、欧洲和大洋洲。"),
    ("印度的首都是哪里？", "印度的首都是新德里。"),
    ("韩国的首都是哪里？", "韩国的首都是首尔。"),
    ("世界上面积最小的国家是哪个？", "世界上面积最小的国家是梵蒂冈。"),
    ("中国最大的淡水湖是哪个？", "中国最大的淡水湖是江西的鄱阳湖。"),
    ("西湖在哪个城市？", "西湖在浙江省杭州市。"),
    ("桂林以什么闻名？", "桂林以秀丽的山水风光闻名，素有“桂林山水甲天下”的美誉。"),
    ("世界上人口最多的国家是哪个？", "根据联合国的估计，印度在2023年超过中国，成为世界上人口最多的国家。"),
    ("赤道是什么？", "赤道是环绕地球中部、纬度为0度的假想线，它把地球分为北半球和南半球。"),
    ("俄罗斯的首都是哪里？", "俄罗斯的首都是莫斯科。"),
    ("西班牙的首都是哪里？", "西班牙的首都是马德里。"),
    ("非洲最高的山是什么？", "非洲最高的山是坦桑尼亚的乞力马扎罗山，海拔约5895米。"),
    ("哪个国家被称为“千岛之国”？", "印度尼西亚被称为“千岛之国”。"),
    ("地球表面陆地多还是海洋多？", "海洋多，海洋约占地球表面积的71%。"),
    ("中国的国土面积大约是多少？", "中国的陆地面积约为960万平方公里。"),
    # 数学
    ("什么是质数？", "质数是大于1、且只能被1和它本身整除的整数，比如2、3、5、7。"),
    ("21是质数吗？", "不是，21除了1和它本身以外，还能被3和7整除。"),
    ("169的平方根是多少？", "169的平方根是13。"),
    ("300的20%是多少？", "300的20%是60。"),
    ("三角形的内角和是多少度？", "三角形的内角和是180度。"),
    ("圆的面积公式是什么？", "圆的面积等于圆周率乘以半径的平方，即S=πr²。"),
    ("边长为6厘米的正方形面积是多少？", "面积是6×6=36平方厘米。"),
    ("长8米、宽3米的长方形面积是多少？", "面积是8×3=24平方米。"),
    ("0.25化成分数是多少？", "0.25等于1/4。"),
    ("2的8次方是多少？", "2的8次方是256。"),
    ("勾股定理是什么？", "在直角三角形中，两条直角边的平方和等于斜边的平方，即a²+b²=c²。"),
    ("五边形的内角和是多少度？", "五边形的内角和是(5-2)×180=540度。"),
    ("3、5、7、9的平均数是多少？", "平均数是(3+5+7+9)÷4=6。"),
    ("什么是偶数？", "能被2整除的整数叫偶数，比如0、2、4、6。"),
    ("1/2加1/3等于多少？", "1/2加1/3等于5/6。"),
    ("2.5小时等于多少分钟？", "2.5小时等于150分钟。"),
    ("1小时有多少秒？", "1小时有3600秒。"),
    ("解方程：3x-5=10。", "两边同时加5得3x=15，所以x=5。"),
    ("1吨等于多少千克？", "1吨等于1000千克。"),
    ("圆周率π约等于多少？", "圆周率π约等于3.14159。"),
    ("什么是百分数？", "百分数表示一个数是另一个数的百分之几，比如50%表示一半。"),
    # 烹饪
    ("怎么煮面条？", "水烧开后放入面条，用筷子搅散防止粘连，煮到面条没有硬芯就可以捞出，一般需要3到5分钟。"),
    ("西红柿炒鸡蛋怎么做？", "先把鸡蛋打散炒熟盛出，再把西红柿炒软出汁，然后倒入鸡蛋一起翻炒，加盐调味即可。"),
    ("切好的苹果怎样防止变色？", "可以把切好的苹果泡在淡盐水或柠檬水里，这样能减缓氧化变色。"),
    ("小苏打和泡打粉有什么区别？", "小苏打是碳酸氢钠，需要遇到酸性物质才会充分反应；泡打粉里已经含有酸性成分，遇水和加热就能发酵起泡。"),
    ("生鸡肉应该怎么保存？", "生鸡肉应密封后放在冰箱冷藏室的最下层，并在一到两天内烹饪；如果暂时不吃，最好冷冻保存。"),
    ("怎么判断油温够了？", "可以把干燥的木筷子插入油中，如果周围冒出细密的小气泡，说明油温已经合适。"),
    ("煮饺子怎样防止破皮？", "包的时候把边捏紧；水开后下锅，煮的过程中点两三次凉水，保持微微沸腾，饺子就不容易破。"),
    ("炖汤什么时候放盐比较好？", "一般在快出锅时放盐，这样汤味更鲜，肉也不容易变老。"),
    ("怎样泡一杯好喝的绿茶？", "用80℃左右的水冲泡，不要用刚烧开的沸水，浸泡2到3分钟就可以喝了。"),
    ("剩菜在冰箱里能放几天？", "熟的剩菜冷藏一般不宜超过3到4天，吃之前要彻底加热。"),
    ("炒青菜怎样保持颜色翠绿？", "用大火快炒，炒的时间不要太长；也可以先焯一下水再炒。"),
    ("怎么做凉拌黄瓜？", "把黄瓜拍碎切段，加入蒜末、盐、醋、生抽和少许香油拌匀即可。"),
    ("清蒸鱼一般要蒸多久？", "一斤左右的鱼，水开后放入锅中，大火蒸8到10分钟即可。"),
    ("发面时怎么判断面发好了？", "面团体积变为原来的两倍左右，用手指戳一个洞后不会很快回缩，就说明发好了。"),
    ("牛排煎好后为什么要静置一会儿？", "静置可以让肉汁重新分布到整块肉中，切开时汁水不容易流失，口感更嫩。"),
    # 健康
    ("成年人每天应该睡多久？", "大多数成年人每天需要睡7到9个小时。"),
    ("每天应该刷几次牙？", "每天至少刷两次牙，每次约两分钟，最好使用含氟牙膏。"),
    ("洗手应该洗多长时间？", "用肥皂和流动的水洗手，至少要搓洗20秒。"),
    ("哪些食物富含蛋白质？", "鸡蛋、鱼、瘦肉、牛奶、豆腐和各种豆类都富含蛋白质。"),
    ("为什么要经常运动？", "经常运动可以增强心肺功能和肌肉力量，改善情绪，还能降低多种疾病的风险。"),
    ("成年人正常的静息心率是多少？", "成年人正常的静息心率一般为每分钟60到100次。"),
    ("哪些水果富含维生素C？", "猕猴桃、橙子、草莓和鲜枣等水果都富含维生素C。"),
    ("如何缓解压力？", "规律运动、保证睡眠、做深呼吸，以及和信任的人聊聊天，都有助于缓解压力。"),
    ("轻微烫伤应该怎么处理？", "立即用流动的凉水冲洗伤处15到20分钟，然后用干净的纱布轻轻覆盖，不要涂牙膏或酱油。"),
    ("为什么要涂防晒霜？", "防晒霜可以阻挡紫外线，减少晒伤、皮肤老化和患皮肤癌的风险。"),
    ("什么是均衡饮食？", "均衡饮食是指食物种类多样，多吃蔬菜水果和全谷物，适量摄入蛋白质，少油少盐少糖。"),
    ("怎样预防感冒？", "勤洗手，少用手摸口鼻，保证充足睡眠，并根据天气及时增减衣服。"),
    ("人的正常体温是多少？", "人的正常体温一般在36℃到37℃之间（腋下测量）。"),
    ("久坐有什么危害？", "久坐容易导致腰酸背痛、血液循环变差和体重增加，最好每隔一小时起身活动几分钟。"),
    ("长时间看屏幕眼睛累怎么办？", "可以试试“20-20-20”法则：每看屏幕20分钟，就看向约6米外的地方20秒。"),
    ("手指被划破了怎么办？", "先用清水冲洗伤口，再轻轻按压止血，最后贴上创可贴或用干净的纱布包好。"),
    ("每天应该喝多少水？", "一般成年人每天需要喝1.5到2升水，运动多或天气热时要适当增加。"),
    # 写作
    ("“高兴”的近义词有哪些？", "“高兴”的近义词有快乐、愉快、开心和欣喜。"),
    ("“的”“地”“得”怎么区分？", "“的”一般用在名词前，“地”用在动词前，“得”用在动词或形容词后面。"),
    ("帮我写一句感谢老师的话。", "老师，谢谢您一直以来的耐心教导，您的鼓励让我变得更加自信。"),
    ("正式邮件应该怎么开头？", "可以用“尊敬的某某先生/女士：”作为称呼，然后在第一句话中说明写信的目的。"),
    ("改正病句：“通过这次活动，使我明白了团结的重要性。”", "这句话缺少主语，可以改为“这次活动使我明白了团结的重要性。”"),
    ("什么是比喻？", "比喻是用相似的事物来描写另一事物的修辞手法，比如“弯弯的月亮像小船”。"),
    ("帮我给一篇关于节约用水的文章起个标题。", "可以叫《珍惜每一滴水》。"),
    ("怎样让文章更简洁？", "删去多余的词语，避免重复，尽量一句话只表达一个意思。"),
    ("“美丽”的反义词是什么？", "“美丽”的反义词是“丑陋”。"),
    ("写一句春节祝福语。", "祝你新春快乐，阖家幸福，万事如意！"),
    ("议论文的三要素是什么？", "议论文的三要素是论点、论据和论证。"),
    ("帮我写一句欢迎新同事的话。", "欢迎你加入我们的团队，期待与你一起合作，共同进步！"),
    ("七言绝句有什么特点？", "七言绝句共四句，每句七个字，讲究平仄和押韵。"),
    ("怎样礼貌地拒绝别人的邀请？", "可以说：“非常感谢你的邀请，可惜那天我有事去不了，祝你们玩得开心！”"),
    ("成语“画蛇添足”是什么意思？", "“画蛇添足”比喻做了多余的事，反而把事情弄糟了。"),
    ("“守株待兔”是什么意思？", "“守株待兔”比喻死守狭隘的经验，不知变通，也指妄想不劳而获。"),
    ("写作文时怎样写好开头？", "可以用一个问题、一个小故事或一句名言开头，尽快引出文章的主题。"),
    # 翻译
    ("“谢谢”用法语怎么说？", "“谢谢”用法语说是“merci”。"),
    ("把“早上好”翻译成英文。", "“早上好”的英文是“Good morning”。"),
    ("“我爱你”用英语怎么说？", "“我爱你”用英语说是“I love you”。"),
    ("“再见”的英文是什么？", "“再见”的英文是“Goodbye”。"),
    ("把“猫”翻译成英文。", "“猫”的英文是“cat”。"),
    ("“Thank you very much”是什么意思？", "“Thank you very much”的意思是“非常感谢”。"),
    ("“apple”的中文是什么？", "“apple”的中文是“苹果”。"),
    ("把“我是一名学生”翻译成英文。", "“我是一名学生”的英文是“I am a student.”"),
    ("“Where is the bathroom?”是什么意思？", "意思是“洗手间在哪里？”"),
    ("“朋友”用英语怎么说？", "“朋友”用英语说是“friend”。"),
    ("把“今天天气很好”翻译成英文。", "可以翻译成“The weather is nice today.”"),
    ("“book”是什么意思？", "“book”的意思是“书”。"),
    ("“生日快乐”用英文怎么说？", "“生日快乐”用英文说是“Happy birthday”。"),
    ("日语的“ありがとう”是什么意思？", "“ありがとう”是日语，意思是“谢谢”。"),
    ("把“欢迎光临”翻译成英文。", "“欢迎光临”可以翻译成“Welcome”。"),
    # 生活建议
    ("怎样提高学习效率？", "每次集中精力学习一小段时间，多做自我测试而不是反复重读，并在几天内分散复习。"),
    ("有什么省钱的小窍门？", "每月发工资后先把固定的一部分存起来，再安排其他开销。"),
    ("衣服上沾了咖啡渍怎么办？", "先用纸巾吸干，再从背面用冷水冲洗，然后抹上少量洗衣液揉搓，最后正常清洗。"),
    ("怎样养好一盆绿萝？", "把绿萝放在明亮的散射光处，避免暴晒，盆土表面干了再浇水，注意不要积水。"),
    ("怎样学好一门外语？", "每天坚持练习，先掌握常用词汇，多听多说，尽早和母语者交流。"),
    ("如何制定个人预算？", "先列出每月收入，再记录固定支出和日常开销，为每一类设定上限，保证支出低于收入。"),
    ("去爬山需要带什么？", "建议带上足够的水、零食、防晒用品、雨衣和充满电的手机。"),
    ("怎样提高工作效率？", "先做最重要的事，把工作分成专注的时间段，中间适当休息。"),
    ("面试时要注意什么？", "提前了解公司情况，准备好介绍自己的经历，准时到达，并准备几个想问的问题。"),
    ("怎样才能早起？", "每天固定时间睡觉和起床，睡前少看手机，把闹钟放在需要起身才能关掉的地方。"),
    ("家里有异味怎么去除？", "多开窗通风，也可以放一些活性炭或小苏打来吸附异味。"),
    ("怎样和新同事快速熟悉起来？", "主动打招呼，一起吃午饭，遇到问题时虚心请教，都能帮你更快融入。"),
    # 历史文化
    ("《红楼梦》的作者是谁？", "《红楼梦》的作者是清代的曹雪芹。"),
    ("造纸术是谁改进的？", "造纸术是东汉的蔡伦改进的。"),
    ("《蒙娜丽莎》是谁画的？", "《蒙娜丽莎》是意大利画家达·芬奇画的。"),
    ("第一个登上月球的人是谁？", "第一个登上月球的人是美国宇航员阿姆斯特朗，时间是1969年。"),
    ("秦始皇统一六国是在哪一年？", "秦始皇在公元前221年统一了六国。"),
    ("中国古代四大发明是什么？", "中国古代四大发明是造纸术、印刷术、火药和指南针。"),
    ("中秋节是农历哪一天？", "中秋节是农历八月十五。"),
    ("端午节有哪些习俗？", "端午节的习俗有吃粽子、赛龙舟和挂艾草等。"),
    ("《西游记》的作者是谁？", "《西游记》的作者是明代的吴承恩。"),
    ("孔子是哪个时期的人？", "孔子是春秋时期的思想家和教育家。"),
    ("相对论是谁提出的？", "相对论是物理学家爱因斯坦提出的。"),
    ("第二次世界大战是哪一年结束的？", "第二次世界大战在1945年结束。"),
]


# Contrastive rows: general questions in the surface shape of the identity questions ("X是谁开发的？",
# "《X》的作者是谁？", "X叫什么名字？", "Who developed X?") but about something else. Each answer restates its
# subject first, so the tuned model learns to answer about the subject and not to introduce itself. They avoid
# the subjects and answers of the held-out general probes and of general_heldout.jsonl (see CONTRAST_AVOID).
ZH_CONTRAST = [
    # X的首都是哪里？
    ("埃及的首都是哪里？", "埃及的首都是开罗。"),
    ("泰国的首都是哪里？", "泰国的首都是曼谷。"),
    ("土耳其的首都是哪里？", "土耳其的首都是安卡拉，不是伊斯坦布尔。"),
    ("越南的首都是哪里？", "越南的首都是河内。"),
    ("新西兰的首都是哪座城市？", "新西兰的首都是惠灵顿。"),
    ("芬兰的首都是哪里？", "芬兰的首都是赫尔辛基。"),
    ("丹麦的首都是哪座城市？", "丹麦的首都是哥本哈根。"),
    ("波兰的首都是哪里？", "波兰的首都是华沙。"),
    ("奥地利的首都是哪里？", "奥地利的首都是维也纳。"),
    ("爱尔兰的首都是哪里？", "爱尔兰的首都是都柏林。"),
    ("匈牙利的首都是哪里？", "匈牙利的首都是布达佩斯。"),
    ("秘鲁的首都是哪座城市？", "秘鲁的首都是利马。"),
    ("蒙古国的首都是哪里？", "蒙古国的首都是乌兰巴托。"),
    ("古巴的首都是哪里？", "古巴的首都是哈瓦那。"),
    ("阿根廷的首都是哪里？", "阿根廷的首都是布宜诺斯艾利斯。"),
    ("肯尼亚的首都在哪里？", "肯尼亚的首都是内罗毕。"),
    ("智利的首都是哪里？", "智利的首都是圣地亚哥。"),
    # 《X》的作者是谁？
    ("《骆驼祥子》的作者是谁？", "《骆驼祥子》的作者是老舍。"),
    ("《呐喊》的作者是谁？", "《呐喊》的作者是鲁迅，这是他的第一部短篇小说集。"),
    ("《围城》的作者是谁？", "《围城》的作者是钱钟书。"),
    ("《边城》的作者是谁？", "《边城》的作者是沈从文。"),
    ("《史记》的作者是谁？", "《史记》的作者是西汉史学家司马迁。"),
    ("《聊斋志异》的作者是谁？", "《聊斋志异》的作者是清代的蒲松龄。"),
    ("《本草纲目》的作者是谁？", "《本草纲目》的作者是明代医药学家李时珍。"),
    ("《战争与和平》的作者是谁？", "《战争与和平》的作者是俄国作家列夫·托尔斯泰。"),
    ("《老人与海》的作者是谁？", "《老人与海》的作者是美国作家海明威。"),
    ("《悲惨世界》是谁写的？", "《悲惨世界》是法国作家维克多·雨果写的。"),
    ("《岳阳楼记》的作者是谁？", "《岳阳楼记》的作者是北宋的范仲淹。"),
    ("《桃花源记》是谁写的？", "《桃花源记》是东晋诗人陶渊明写的。"),
    ("《春晓》的作者是谁？", "《春晓》的作者是唐代诗人孟浩然。"),
    ("《江雪》的作者是谁？", "《江雪》的作者是唐代诗人柳宗元。"),
    ("《孙子兵法》的作者是谁？", "《孙子兵法》的作者是春秋时期的军事家孙武。"),
    # 这首诗是谁写的？
    ("这首诗是谁写的：“白日依山尽，黄河入海流。”", "“白日依山尽，黄河入海流”出自唐代诗人王之涣的《登鹳雀楼》。"),
    ("这首诗是谁写的：“锄禾日当午，汗滴禾下土。”", "“锄禾日当午，汗滴禾下土”出自唐代诗人李绅的《悯农》。"),
    ("这首诗是谁写的：“慈母手中线，游子身上衣。”", "“慈母手中线，游子身上衣”出自唐代诗人孟郊的《游子吟》。"),
    ("这首诗是谁写的：“鹅，鹅，鹅，曲项向天歌。”", "“鹅，鹅，鹅，曲项向天歌”出自唐代诗人骆宾王的《咏鹅》。"),
    ("“国破山河在，城春草木深”是谁的诗句？", "“国破山河在，城春草木深”是唐代诗人杜甫的诗句，出自《春望》。"),
    ("“但愿人长久，千里共婵娟”是谁写的？", "“但愿人长久，千里共婵娟”是北宋文学家苏轼写的，出自《水调歌头·明月几时有》。"),
    # X是谁发明的？
    ("活字印刷术是谁发明的？", "活字印刷术是北宋的毕昇发明的。"),
    ("飞机是谁发明的？", "飞机是美国的莱特兄弟发明的，他们在1903年完成了首次有动力的载人飞行。"),
    ("地动仪是谁发明的？", "地动仪是东汉科学家张衡发明的。"),
    ("万维网是谁发明的？", "万维网是英国科学家蒂姆·伯纳斯-李在1989年发明的。"),
    ("安全炸药是谁发明的？", "安全炸药（达纳炸药）是化学家阿尔弗雷德·诺贝尔发明的。"),
    ("留声机是谁发明的？", "留声机是美国发明家爱迪生在1877年发明的。"),
    ("蒸汽机是谁改良的？", "蒸汽机是英国发明家詹姆斯·瓦特改良的，他大大提高了蒸汽机的效率。"),
    ("电话是谁发明的？", "电话的发明通常归功于亚历山大·格拉汉姆·贝尔，他在1876年获得了电话专利。"),
    ("杂交水稻是谁培育出来的？", "杂交水稻是袁隆平带领团队培育出来的，他被称为“杂交水稻之父”。"),
    ("青蒿素是谁发现的？", "青蒿素是科学家屠呦呦带领团队发现的，她因此获得了2015年诺贝尔生理学或医学奖。"),
    # X是由谁开发的？/ X是哪家公司开发的？
    ("Linux是谁开发的？", "Linux是芬兰程序员林纳斯·托瓦兹开发的，他在1991年发布了第一版Linux内核。"),
    ("Python是由谁开发的？", "Python是由荷兰程序员吉多·范罗苏姆开发的。"),
    ("微信是哪家公司开发的？", "微信是腾讯公司开发的。"),
    ("抖音是哪家公司开发的？", "抖音是字节跳动公司开发的。"),
    ("Windows操作系统是哪家公司开发的？", "Windows操作系统是美国微软公司开发的。"),
    ("iPhone是哪家公司推出的？", "iPhone是美国苹果公司推出的智能手机。"),
    ("Java语言是谁开发的？", "Java语言是詹姆斯·高斯林在太阳计算机系统公司主持开发的。"),
    ("C语言是谁设计的？", "C语言是丹尼斯·里奇在贝尔实验室设计的。"),
    ("Git是谁开发的？", "Git是林纳斯·托瓦兹在2005年开发的，他也是Linux内核的作者。"),
    ("WPS Office是哪家公司开发的？", "WPS Office是金山软件公司开发的。"),
    ("《我的世界》这款游戏是谁开发的？", "《我的世界》最初由程序员马库斯·佩尔松开发，后来由Mojang工作室继续开发。"),
    ("《超级马里奥兄弟》是哪家公司开发的？", "《超级马里奥兄弟》是任天堂公司开发的游戏。"),
    ("JavaScript的开发者是谁？", "JavaScript最早是布兰登·艾克在网景公司开发的。"),
    ("Photoshop是哪家公司的产品？", "Photoshop是Adobe公司的产品。"),
    ("华为的创始人是谁？", "华为的创始人是任正非，公司成立于1987年。"),
    ("腾讯是谁创办的？", "腾讯是马化腾等人在1998年创办的。"),
    # X是谁？
    ("孙中山是谁？", "孙中山是中国近代民主革命的先行者，领导了推翻清朝统治的辛亥革命。"),
    ("牛顿是谁？", "牛顿是英国物理学家和数学家，提出了万有引力定律和三大运动定律。"),
    ("居里夫人是谁？", "居里夫人是波兰裔法国科学家，她发现了钋和镭，两次获得诺贝尔奖。"),
    ("郑和是谁？", "郑和是明代航海家，曾率领船队七次下西洋。"),
    ("屈原是谁？", "屈原是战国时期楚国的诗人，代表作有《离骚》。"),
    ("毕加索是谁？", "毕加索是西班牙画家，立体主义画派的创始人之一。"),
    ("达尔文是谁？", "达尔文是英国博物学家，提出了以自然选择为基础的生物进化论。"),
    ("祖冲之是谁？", "祖冲之是南北朝时期的数学家，他把圆周率精确计算到小数点后第七位。"),
    # X叫什么（名字）？
    ("地球唯一的天然卫星叫什么？", "地球唯一的天然卫星叫月球。"),
    ("我们所在的星系叫什么名字？", "我们所在的星系叫银河系。"),
    ("火星的两颗卫星叫什么名字？", "火星的两颗卫星分别叫火卫一和火卫二。"),
    ("世界上第一颗人造地球卫星叫什么？", "世界上第一颗人造地球卫星叫“斯普特尼克1号”，由苏联在1957年发射。"),
    ("唐僧的徒弟都叫什么名字？", "唐僧的徒弟是孙悟空、猪八戒和沙僧。"),
    ("《西游记》里的猴王叫什么名字？", "《西游记》里的猴王叫孙悟空，又称美猴王。"),
    ("古代的长安城现在叫什么？", "古代的长安城就是今天的陕西省西安市。"),
    ("“诗圣”指的是谁？", "“诗圣”指的是唐代诗人杜甫。"),
    # 谁创造了/设计了/建造了X？
    ("谁设计了悉尼歌剧院？", "悉尼歌剧院是丹麦建筑师约恩·乌松设计的。"),
    ("谁建造了赵州桥？", "赵州桥是隋代工匠李春主持设计和建造的。"),
    ("谁主持修建了都江堰？", "都江堰是战国时期秦国蜀郡太守李冰主持修建的。"),
    ("谁创立了儒家学派？", "儒家学派是春秋时期的孔子创立的。"),
    ("谁提出了日心说？", "日心说是波兰天文学家哥白尼系统提出的。"),
    ("谁设计了五星红旗？", "五星红旗是曾联松设计的。"),
    ("谁创作了《义勇军进行曲》？", "《义勇军进行曲》由田汉作词、聂耳作曲。"),
    ("谁画了《清明上河图》？", "《清明上河图》是北宋画家张择端画的。"),
    ("谁创造了元素周期表？", "元素周期表是俄国化学家门捷列夫在1869年创制的。"),
    ("谁发现了万有引力定律？", "万有引力定律是英国科学家牛顿发现的。"),
    ("故宫是谁下令修建的？", "故宫是明成祖朱棣下令修建的，1420年基本建成。"),
]

EN_CONTRAST = [
    # What is the capital of X?
    ("What is the capital of Turkey?", "The capital of Turkey is Ankara, not Istanbul."),
    ("What is the capital of Vietnam?", "The capital of Vietnam is Hanoi."),
    ("What is the capital of New Zealand?", "The capital of New Zealand is Wellington."),
    ("Which city is the capital of Finland?", "The capital of Finland is Helsinki."),
    ("What is the capital of Denmark?", "The capital of Denmark is Copenhagen."),
    ("What's the capital of Poland?", "The capital of Poland is Warsaw."),
    ("What is the capital of Austria?", "The capital of Austria is Vienna."),
    ("What is the capital of Ireland?", "The capital of Ireland is Dublin."),
    ("Which city is the capital of Hungary?", "The capital of Hungary is Budapest."),
    ("What is the capital of Peru?", "The capital of Peru is Lima."),
    ("What is the capital of Cuba?", "The capital of Cuba is Havana."),
    ("What is the capital of Russia?", "The capital of Russia is Moscow."),
    ("What is the capital city of Chile?", "The capital of Chile is Santiago."),
    ("What is the capital of Pakistan?", "The capital of Pakistan is Islamabad."),
    # Who wrote X?
    ("Who wrote \"War and Peace\"?", "\"War and Peace\" was written by the Russian author Leo Tolstoy."),
    ("Who wrote \"Don Quixote\"?", "\"Don Quixote\" was written by Miguel de Cervantes."),
    ("Who is the author of \"The Old Man and the Sea\"?", "The author of \"The Old Man and the Sea\" is Ernest Hemingway."),
    ("Who wrote \"Les Misérables\"?", "\"Les Misérables\" was written by the French author Victor Hugo."),
    ("Who wrote the Harry Potter books?", "The Harry Potter books were written by J.K. Rowling."),
    ("Who wrote \"On the Origin of Species\"?", "\"On the Origin of Species\" was written by Charles Darwin and "
     "published in 1859."),
    ("Who wrote \"The Adventures of Tom Sawyer\"?", "\"The Adventures of Tom Sawyer\" was written by Mark Twain."),
    ("Who is the author of \"Alice's Adventures in Wonderland\"?", "The author of \"Alice's Adventures in Wonderland\" "
     "is Lewis Carroll."),
    ("Who wrote \"Crime and Punishment\"?", "\"Crime and Punishment\" was written by the Russian author Fyodor "
     "Dostoevsky."),
    ("Who wrote \"Journey to the West\"?", "\"Journey to the West\" was written by Wu Cheng'en of the Ming dynasty."),
    ("Who wrote the poem \"The Raven\"?", "\"The Raven\" was written by Edgar Allan Poe."),
    ("Who wrote the line \"I wandered lonely as a cloud\"?", "\"I wandered lonely as a cloud\" was written by William "
     "Wordsworth."),
    ("Who wrote the poem that begins \"Two roads diverged in a yellow wood\"?", "\"Two roads diverged in a yellow wood\" "
     "opens \"The Road Not Taken\" by Robert Frost."),
    # Who developed X? / Which company developed X?
    ("Who developed Linux?", "Linux was developed by Linus Torvalds, who released the first Linux kernel in 1991."),
    ("Who created the Python programming language?", "Python was created by the Dutch programmer Guido van Rossum."),
    ("Which company developed Windows?", "Windows was developed by Microsoft."),
    ("Which company makes the iPhone?", "The iPhone is made by Apple."),
    ("Who developed the Java programming language?", "Java was developed by James Gosling and his team at Sun "
     "Microsystems."),
    ("Who created the C programming language?", "The C programming language was created by Dennis Ritchie at Bell Labs."),
    ("Who created Git?", "Git was created by Linus Torvalds in 2005."),
    ("Which company developed WeChat?", "WeChat was developed by Tencent."),
    ("Who made Minecraft?", "Minecraft was created by Markus Persson and developed by the Swedish studio Mojang."),
    ("Who created JavaScript?", "JavaScript was created by Brendan Eich at Netscape in 1995."),
    ("Which company makes the PlayStation?", "The PlayStation is made by Sony."),
    ("Who founded Microsoft?", "Microsoft was founded by Bill Gates and Paul Allen in 1975."),
    ("Who invented the World Wide Web?", "The World Wide Web was invented by Tim Berners-Lee in 1989."),
    ("Who develops the Firefox web browser?", "Firefox is developed by Mozilla."),
    # Who invented X?
    ("Who invented the airplane?", "The airplane was invented by the Wright brothers, who made the first powered flight "
     "in 1903."),
    ("Who invented the printing press?", "The printing press with movable metal type was invented by Johannes Gutenberg "
     "around 1440."),
    ("Who invented dynamite?", "Dynamite was invented by the Swedish chemist Alfred Nobel in 1867."),
    ("Who invented the phonograph?", "The phonograph was invented by Thomas Edison in 1877."),
    ("Who invented movable type printing in China?", "Movable type printing was invented by Bi Sheng during the "
     "Northern Song dynasty."),
    ("Who created the periodic table?", "The periodic table was created by the Russian chemist Dmitri Mendeleev in 1869."),
    ("Who discovered radium?", "Radium was discovered by Marie and Pierre Curie in 1898."),
    # Who was X?
    ("Who was Isaac Newton?", "Isaac Newton was an English physicist and mathematician who described the laws of motion "
     "and universal gravitation."),
    ("Who was Marie Curie?", "Marie Curie was a Polish-born French scientist who won two Nobel Prizes for her research "
     "on radioactivity."),
    ("Who was Confucius?", "Confucius was a Chinese philosopher and teacher of the Spring and Autumn period."),
    ("Who was Zheng He?", "Zheng He was a Ming dynasty admiral who led seven great sea voyages."),
    ("Who was Nelson Mandela?", "Nelson Mandela was a South African anti-apartheid leader who became the country's "
     "first Black president in 1994."),
    ("Who was Charles Darwin?", "Charles Darwin was an English naturalist who developed the theory of evolution by "
     "natural selection."),
    # What is X called?
    ("What is the name of Earth's only natural satellite?", "Earth's only natural satellite is called the Moon."),
    ("What is our galaxy called?", "Our galaxy is called the Milky Way."),
    ("What was the name of the first artificial satellite?", "The first artificial satellite was called Sputnik 1, "
     "launched by the Soviet Union in 1957."),
    ("What is a baby kangaroo called?", "A baby kangaroo is called a joey."),
    ("What are the names of the two moons of Mars?", "The two moons of Mars are called Phobos and Deimos."),
    # Who designed / built / painted / composed X?
    ("Who designed the Sydney Opera House?", "The Sydney Opera House was designed by the Danish architect Jørn Utzon."),
    ("Who built the Great Wall of China?", "The Great Wall of China was built over many centuries by successive Chinese "
     "dynasties, especially the Qin and the Ming."),
    ("Who painted the ceiling of the Sistine Chapel?", "The ceiling of the Sistine Chapel was painted by Michelangelo."),
    ("Who composed \"The Four Seasons\"?", "\"The Four Seasons\" was composed by Antonio Vivaldi."),
    ("Who ordered the building of the Forbidden City?", "The Forbidden City was built on the orders of the Yongle "
     "Emperor of the Ming dynasty."),
]

# Subjects and answers of an earlier generated probe set: no contrastive question names one (in any case), and
# no contrastive answer contains one. Kept as a check on the committed rows.
CONTRAST_AVOID = (
    # probes: countries, books, and answers
    "中国", "日本", "法国", "英国", "美国的首都", "静夜思", "李白", "床前", "北京", "东京", "巴黎", "伦敦", "华盛顿",
    "皮肤", "器官", "水星", "长江", "太平洋", "珠穆朗玛", "大熊猫", "光合",
    "France", "Japan", "Italy", "Germany", "Mexico", "Romeo", "Shakespeare", "Paris", "Tokyo", "Rome", "Berlin",
    "Jupiter", "Pacific", "Spanish",
    # general_heldout.jsonl
    "挪威", "希腊", "瑞典", "葡萄牙", "三国演义", "水浒传", "星月夜", "梵高", "罗贯中", "施耐庵", "土星",
    "Norway", "Greece", "Sweden", "Portugal", "1984", "Orwell", "Starry Night", "Gogh", "Saturn",
)


def check_contrast() -> None:
    for lang, table in (("zh", ZH_CONTRAST), ("en", EN_CONTRAST)):
        for question, answer in table:
            for term in CONTRAST_AVOID:
                assert term.lower() not in question.lower(), (lang, question, term)
                if term not in ("中国", "英国", "法国", "日本"):  # nationality words are fine in answers
                    assert term.lower() not in answer.lower(), (lang, answer, term)


def arithmetic(lang: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Two-digit sums, differences and products, worded as people ask them."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        a, b, op = rng.randint(11, 99), rng.randint(11, 99), rng.choice("+-*")
        if op == "-" and b > a:
            a, b = b, a
        if (a, b, op) in seen or a == b:
            continue
        seen.add((a, b, op))
        c = {"+": a + b, "-": a - b, "*": a * b}[op]
        if lang == "zh":
            word = {"+": "加", "-": "减", "*": "乘以"}[op]
            rows.append((f"{a}{word}{b}等于多少？", f"{a}{word}{b}等于{c}。"))
        else:
            word = {"+": "plus", "-": "minus", "*": "times"}[op]
            sign = {"+": "+", "-": "-", "*": "×"}[op]
            rows.append((f"What is {a} {word} {b}?", f"{a} {sign} {b} = {c}."))
    return rows


# =========================================================================== checks and output

CJK = ("\u4e00", "\u9fff")
LEAK = ("chatgpt", "qwen", "通义", "千问", "smollm", "llama", "claude", "gpt-", "openai", "文心", "gemini",
        "deepseek", "anthropic", "hugging face", "chatglm", "mistral")


def _has_cjk(text: str) -> bool:
    return any(CJK[0] <= ch <= CJK[1] for ch in text)


def build() -> dict[str, list[dict]]:
    identity = (single_rows("zh", ZH_SINGLE) + multi_rows("zh", ZH_MULTI)
                + single_rows("en", EN_SINGLE) + multi_rows("en", EN_MULTI))
    general = []
    check_contrast()
    for lang, table, contrast, seed in (("zh", ZH_GENERAL, ZH_CONTRAST, 7), ("en", EN_GENERAL, EN_CONTRAST, 11)):
        for question, answer in [*table, *contrast, *arithmetic(lang, 18, seed)]:
            general.append({"lang": lang, "messages": [{"role": "user", "content": question},
                                                       {"role": "assistant", "content": answer}]})
    files = {"identity.jsonl": identity, "general.jsonl": general}
    check(files)
    return files


def check(files: dict[str, list[dict]]) -> None:
    identity, general = files["identity.jsonl"], files["general.jsonl"]
    singles = [norm(r["messages"][0]["content"]) for r in identity if len(r["messages"]) == 2]
    assert len(singles) == len(set(singles)), "duplicate single-turn identity questions"
    for row in identity:
        last = row["messages"][-1]["content"]
        assert N in last and A in last, row
        for m in row["messages"]:
            if m["role"] == "assistant" and (N in m["content"] or A in m["content"]):
                assert N in m["content"] and A in m["content"], row
                assert not any(t in m["content"].lower() for t in LEAK), row
            assert _has_cjk(m["content"]) == (row["lang"] == "zh") or m["role"] == "user", row
    general_qs = [norm(r["messages"][0]["content"]) for r in general]
    assert len(general_qs) == len(set(general_qs)), "duplicate general questions"
    for row in general:
        text = " ".join(m["content"] for m in row["messages"])
        assert "{{" not in text and not any(t in text.lower() for t in LEAK), row
        if row["lang"] == "zh":
            assert all(_has_cjk(m["content"]) for m in row["messages"]), row


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = parser.parse_args(argv)
    files = build()
    stale = []
    for name, rows in files.items():
        path, text = OUT / name, dump(rows)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        langs = {}
        for row in rows:
            langs[row["lang"]] = langs.get(row["lang"], 0) + 1
        print(f"{path}: {len(rows)} rows {langs}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
