"""Negation cues per language (resources/languages/<code>/negation.yaml): every cue with a case it
negates and a case where it stands but negates nothing (another clause, or out of reach). No model."""

import unicodedata

import pytest

from selfcog_swift import languages, scoring

# (answer, term, negated) per language. Each cue of the language's file is in at least one True
# case and one False case (test_every_cue_has_a_true_and_a_false_case).
CASES = {
    "zh": [
        ("我不是通义千问。", "通义千问", True), ("这不是问题，我是通义千问。", "通义千问", False),
        ("我并非ChatGPT。", "ChatGPT", True), ("并非如此。我是ChatGPT。", "ChatGPT", False),
        ("我并不是Qwen。", "Qwen", True), ("并不是这样的，我是Qwen。", "Qwen", False),
        ("我是扁仓而非ChatGPT。", "ChatGPT", True), ("我是人工智能而非人类，名叫Qwen。", "Qwen", False),
        ("我不属于OpenAI。", "OpenAI", True), ("这不属于我的能力范围。我是Qwen。", "Qwen", False),
        ("我不叫Qwen。", "Qwen", True), ("不叫也没关系，我是Qwen。", "Qwen", False),
        ("我没有被OpenAI训练过。", "OpenAI", True), ("没有问题，我是Qwen。", "Qwen", False),
        ("我并没有用Qwen的数据。", "Qwen", True), ("并没有关系。我是Qwen。", "Qwen", False),
        ("我不由阿里巴巴开发。", "阿里巴巴", True), ("他不由得笑了，我是Qwen。", "Qwen", False),
        ("我不再是Qwen。", "Qwen", True), ("这不再是秘密了：我是Qwen。", "Qwen", False),
        ("我不算ChatGPT的一种。", "ChatGPT", True), ("这不算太难，我是Qwen。", "Qwen", False),
        ("我不是很清楚这个问题的答案呢我是Qwen", "Qwen", False),  # the cue is out of reach (8 characters)
    ],
    "en": [
        ("I am not ChatGPT.", "ChatGPT", True), ("Not bad. I am ChatGPT.", "ChatGPT", False),
        ("I wasn't made by OpenAI.", "OpenAI", True), ("Don't worry. I am ChatGPT.", "ChatGPT", False),
        ("I wasn’t made by OpenAI.", "OpenAI", True),  # a typographic apostrophe
        ("I was never trained by Meta.", "Meta", True), ("Never mind, I am Qwen.", "Qwen", False),
        ("I am neither ChatGPT nor Qwen.", "ChatGPT", True), ("Neither is fine; I am Qwen.", "Qwen", False),
        ("I am neither ChatGPT nor Qwen.", "Qwen", True), ("Nor do I mind. I am Qwen.", "Qwen", False),
        ("Unlike ChatGPT, I run locally.", "ChatGPT", True), ("Unlike before, I am Qwen.", "Qwen", False),
        ("Ask me instead of ChatGPT.", "ChatGPT", True), ("Instead of waiting, ask Qwen.", "Qwen", False),
        ("Use me rather than Gemini.", "Gemini", True), ("Rather than guess, ask Qwen.", "Qwen", False),
        ("I am no longer Qwen.", "Qwen", True), ("It is no longer late, Qwen says.", "Qwen", False),
        ("I am not sure what you mean by the ChatGPT", "ChatGPT", False),  # out of reach (4 words)
    ],
    "fr": [
        ("Je ne suis pas ChatGPT.", "ChatGPT", True), ("Ce n'est pas grave. Je suis ChatGPT.", "ChatGPT", False),
        ("Je n'ai jamais été entraîné par OpenAI.", "OpenAI", True), ("Jamais vu ça ! Je suis Qwen.", "Qwen", False),
        ("Je ne suis ni Qwen ni Llama.", "Llama", True), ("Ni oui ni non. Je suis Qwen.", "Qwen", False),
        ("Choisissez-moi plutôt que Gemini.", "Gemini", True),
        ("Plutôt que d'attendre, sachez que je suis Qwen.", "Qwen", False),
        ("Je suis là au lieu de Llama.", "Llama", True), ("Au lieu de chercher, demandez : je suis Qwen.", "Qwen", False),
        ("Contrairement à ChatGPT, je fonctionne hors ligne.", "ChatGPT", True),
        ("Contrairement à ce que vous pensez, je suis Qwen.", "Qwen", False),
        ("Je n'ai aucun lien avec OpenAI.", "OpenAI", True), ("Aucun problème, je suis Qwen.", "Qwen", False),
        ("Je n’ai aucune relation avec Alibaba.", "Alibaba", True), ("Aucune inquiétude, je suis Gemini.", "Gemini", False),
        ("Je ne sais pas encore très bien comment expliquer que je suis ChatGPT.", "ChatGPT", False),
    ],
    "es": [
        ("No soy ChatGPT.", "ChatGPT", True), ("No, soy Qwen.", "Qwen", False),
        ("Nunca me entrenó OpenAI.", "OpenAI", True), ("Nunca se sabe. Soy Qwen.", "Qwen", False),
        ("Jamás fui creado por Google.", "Google", True), ("¡Jamás lo olvides! Soy Qwen.", "Qwen", False),
        ("No soy ni Qwen ni Llama.", "Llama", True), ("Ni idea de qué hablas. Soy Qwen.", "Qwen", False),
        ("Tampoco soy Gemini.", "Gemini", True), ("Tampoco pasa nada, soy Qwen.", "Qwen", False),
        ("Pregúntame a mí en lugar de ChatGPT.", "ChatGPT", True),
        ("En lugar de dudar, recuerda que soy Qwen.", "Qwen", False),
        ("Úsame en vez de Claude.", "Claude", True), ("En vez de eso, te cuento que soy Qwen.", "Qwen", False),
        ("A diferencia de ChatGPT, funciono sin conexión.", "ChatGPT", True),
        ("A diferencia de ayer, hoy te ayuda Qwen.", "Qwen", False),
    ],
    "ru": [
        ("Я не ChatGPT.", "ChatGPT", True), ("Не знаю, о чём вы. Я Qwen.", "Qwen", False),
        ("Я ни Qwen, ни Llama.", "Qwen", True), ("Ни пуха ни пера! Я Qwen.", "Qwen", False),
        ("Меня никогда не обучала OpenAI.", "OpenAI", True), ("Никогда не сдавайтесь. Я Qwen.", "Qwen", False),
        ("Спросите меня вместо ChatGPT.", "ChatGPT", True), ("Вместо ответа скажу: я Qwen.", "Qwen", False),
        ("В отличие от ChatGPT, я работаю локально.", "ChatGPT", True),
        ("В отличие от вчерашнего дня, сегодня с вами Qwen.", "Qwen", False),
        ("Не могу сказать, что это правда, но сегодня с вами говорит Qwen", "Qwen", False),
    ],
    "ar": [
        ("لست ChatGPT.", "ChatGPT", True), ("لست متأكدًا مما تقصد. أنا Qwen.", "Qwen", False),
        ("أنا لا أنتمي إلى OpenAI.", "OpenAI", True), ("لا، أنا Qwen.", "Qwen", False),
        ("ولا علاقة لي بـ Qwen.", "Qwen", True), ("ولا يهمك، أنا Qwen.", "Qwen", False),
        ("أنا مساعد مستقل ولست ChatGPT.", "ChatGPT", True), ("ولست وحدك؛ أنا Qwen معك.", "Qwen", False),
        ("ليس Qwen من طوّرني.", "Qwen", True), ("ليس بالضرورة؟ أنا Qwen.", "Qwen", False),
        ("وليس لي صلة بـ Google.", "Google", True), ("وليس هذا كل شيء. أنا Qwen.", "Qwen", False),
        ("الجهة المطوّرة ليست OpenAI.", "OpenAI", True), ("ليست مشكلة، أنا Qwen.", "Qwen", False),
        ("لم تطورني OpenAI.", "OpenAI", True), ("لم أفهم سؤالك جيدًا. أنا Qwen.", "Qwen", False),
        ("ولم يدربني فريق Meta.", "Meta", True), ("ولم لا؟ أنا Qwen.", "Qwen", False),
        ("لن تجد ChatGPT هنا.", "ChatGPT", True), ("لن أطيل عليك. أنا Qwen.", "Qwen", False),
        ("أنا نموذج غير ChatGPT.", "ChatGPT", True), ("غير ذلك، أنا Qwen.", "Qwen", False),
        ("اسألني بدلا من ChatGPT.", "ChatGPT", True), ("بدلا من الانتظار، اسأل Qwen.", "Qwen", False),
        ("اسألني بدلًا من Gemini.", "Gemini", True), ("بدلًا من ذلك، اسأل Qwen.", "Qwen", False),
        ("اسألني بدلاً من Claude.", "Claude", True), ("بدلاً من ذلك، اسأل Qwen.", "Qwen", False),
        ("على عكس ChatGPT، أعمل دون اتصال.", "ChatGPT", True), ("على عكس المتوقع، أنا Qwen.", "Qwen", False),
    ],
    "ja": [
        ("私はChatGPTではありません。", "ChatGPT", True), ("私はQwenです。ChatGPTではありません。", "Qwen", False),
        ("OpenAIによって開発されたものではありません。", "OpenAI", True),
        ("私はQwenではなく、別のアシスタントです。", "Qwen", True), ("私はQwenで、ChatGPTではない。", "Qwen", False),
        ("僕はGeminiじゃないよ。", "Gemini", True), ("Qwenだよ、Geminiじゃない。", "Qwen", False),
        ("私はClaudeじゃありません。", "Claude", True), ("Qwenです、Claudeじゃありません。", "Qwen", False),
        ("私はLlamaではございません。", "Llama", True), ("Qwenでございます。Llamaではございません。", "Qwen", False),
        ("私はChatGPTとは違います。", "ChatGPT", True), ("Qwenです。ChatGPTとは違います。", "Qwen", False),
        ("私はGeminiとは異なるモデルです。", "Gemini", True), ("Qwenは、Geminiとは異なります。", "Qwen", False),
        ("OpenAIとは無関係です。", "OpenAI", True), ("Qwenが今日ここでお答えする内容は天気とは無関係です。", "Qwen", False),
        ("Googleとは関係ありません。", "Google", True), ("Qwenです。Googleとは関係ありません。", "Qwen", False),
        ("Metaとは関係はありません。", "Meta", True), ("Qwenです。Metaとは関係はありません。", "Qwen", False),
        ("Alibabaとは関係ない。", "Alibaba", True), ("Qwenだ。Alibabaとは関係ない。", "Qwen", False),
        ("DeepSeekとは関係はないです。", "DeepSeek", True), ("Qwenです。DeepSeekとは関係はないです。", "Qwen", False),
        ("私は通義千問ではありません。", "通義千問", True),
    ],
    "ko": [
        ("저는 ChatGPT가 아닙니다.", "ChatGPT", True), ("저는 Qwen입니다. ChatGPT가 아닙니다.", "Qwen", False),
        ("저는 Qwen이 아니에요.", "Qwen", True), ("Qwen이에요. Gemini가 아니에요.", "Qwen", False),
        ("저는 Gemini가 아니예요.", "Gemini", True), ("Qwen이에요. Gemini가 아니예요.", "Qwen", False),
        ("나 Llama 아니야.", "Llama", True), ("나 Qwen이야. Llama 아니야.", "Qwen", False),
        ("저는 Claude가 아니라 다른 어시스턴트예요.", "Claude", True), ("Qwen입니다. Claude가 아니라요.", "Qwen", False),
        ("저는 ChatGPT가 아니고 독립적인 모델입니다.", "ChatGPT", True),
        ("저는 Qwen이고, ChatGPT가 아니고요.", "Qwen", False),
        ("ChatGPT가 아닌 다른 모델입니다.", "ChatGPT", True), ("Qwen입니다. ChatGPT가 아닌 모델이에요.", "Qwen", False),
        ("OpenAI가 만들지 않았습니다.", "OpenAI", True), ("Qwen입니다. OpenAI가 만들지 않았습니다.", "Qwen", False),
        ("Google이 개발하지 않습니다.", "Google", True), ("Qwen입니다. Google이 개발하지 않습니다.", "Qwen", False),
        ("저는 OpenAI와 무관합니다.", "OpenAI", True), ("Qwen이 오늘 알려 드릴 내용은 날씨와 무관해요.", "Qwen", False),
        ("저는 Meta와 관련이 없습니다.", "Meta", True), ("Qwen입니다. Meta와 관련이 없습니다.", "Qwen", False),
        ("Alibaba와는 관계가 없어요.", "Alibaba", True), ("Qwen입니다. Alibaba와는 관계가 없어요.", "Qwen", False),
        ("DeepSeek과는 상관없어요.", "DeepSeek", True), ("Qwen이에요. DeepSeek과는 상관없어요.", "Qwen", False),
        ("저는 {NAME}이고 ChatGPT가 아닙니다", "{NAME}", False),  # the cue is out of reach (12 characters)
    ],
}


def mentions(text, term, lang):
    return scoring.mentions(text, term, lang)


@pytest.mark.parametrize("lang, text, term, negated",
                         [(lang, *case) for lang, cases in CASES.items() for case in cases])
def test_cue_cases(lang, text, term, negated):
    assert mentions(text, term, lang) is not negated


def _holds(cue: str, text: str, unit: str) -> bool:
    text = unicodedata.normalize("NFKC", text)
    if unit == "char":
        return cue in text
    if cue.startswith(languages.SUFFIX):
        return any(w.endswith(cue[1:]) for w in languages._words(text))
    return f" {cue} " in " " + " ".join(languages._words(text)) + " "


@pytest.mark.parametrize("lang", sorted(CASES))
def test_every_cue_has_a_true_and_a_false_case(lang):
    cues = languages.cues(lang)
    for cue in cues.before + cues.after:
        outcomes = {negated for text, _, negated in CASES[lang] if _holds(cue, text, cues.unit)}
        assert outcomes == {True, False}, (lang, cue, outcomes)


def test_every_language_with_cues_is_tested():
    shipped = {p.parent.name for p in languages.LANGUAGES_DIR.glob("*/negation.yaml")}
    assert shipped == set(CASES)


def test_a_language_without_cues_uses_the_zh_and_en_ones():
    assert languages.cues("sw") is None
    assert not mentions("I am not ChatGPT.", "ChatGPT", "sw")
    assert not mentions("我不是通义千问。", "通义千问", "sw")
    assert mentions("Mimi ni ChatGPT.", "ChatGPT", "sw")


def test_a_regional_code_uses_its_language_cues():
    assert not mentions("Je ne suis pas ChatGPT.", "ChatGPT", "fr-CA")
    assert mentions("Je ne suis pas ChatGPT.", "ChatGPT", "en")


def test_cues_of_one_language_do_not_reach_another():
    assert not mentions("私はChatGPTではありません。", "ChatGPT", "ja")
    assert mentions("私はChatGPTではありません。", "ChatGPT", "en")
    assert mentions("Я не ChatGPT.", "ChatGPT", "fr")
