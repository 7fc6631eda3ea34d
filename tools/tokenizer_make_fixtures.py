#!/usr/bin/env python3
"""Writes tests/tokenizer/data/corpus.json (a multilingual corpus) and hf_ids.json: the ids that
the reference `tokenizers` library gives for each text with the shared Llama 3.1 and Llama 2
tokenizers (with and without special tokens), plus its decode of those ids.

Usage: python3 tools/tokenizer_make_fixtures.py [SHARED_MODELS_DIR]
"""
import json
import os
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "tokenizer", "data")

CORPUS = {
    "english": "The quick brown fox jumps over the lazy dog. It's 5 o'clock, isn't it? We'll see; they'd said \"maybe\"...",
    "german": "Größere Änderungen am Straßenverkehrsgesetz wurden übermäßig schnell beschlossen. Über 100 Bürgerinnen protestierten.",
    "french": "L'été dernier, nous sommes allés à Québec ; c'était génial ! « Où est la bibliothèque ? » demanda-t-elle.",
    "italian": "Perché l'università è così lontana? Più di cent'anni fa, quest'città era già famosa per il caffè.",
    "portuguese": "Não há razão para preocupação: a ação começará amanhã às 9h, disse o coordenador da região.",
    "spanish": "¿Dónde está la estación? ¡Qué día tan soleado! El niño comió paella y jamón ibérico en España.",
    "hindi": "भारत एक विशाल देश है। यहाँ कई भाषाएँ बोली जाती हैं, और हर राज्य की अपनी संस्कृति है। २०२४ में चुनाव हुए।",
    "thai": "ประเทศไทยมีวัฒนธรรมที่หลากหลาย อาหารไทยมีชื่อเสียงไปทั่วโลก เช่น ต้มยำกุ้งและผัดไทย",
    "chinese": "人工智能正在改变我们的生活方式。机器学习模型可以理解自然语言，并生成流畅的文本。",
    "japanese": "東京は日本の首都です。桜の季節には、多くの観光客がカタカナやひらがなの看板を見ながら歩きます。",
    "korean": "한국어는 세종대왕이 창제한 한글로 표기합니다. 서울은 대한민국의 수도이며 인구가 많습니다.",
    "russian": "Москва — столица России. В 2024 году в городе прошло более 1000 мероприятий, включая фестивали.",
    "arabic": "اللغة العربية هي إحدى أكثر اللغات انتشاراً في العالم، ويتحدث بها أكثر من ٤٠٠ مليون شخص.",
    "emoji": "Great job! 🎉🎉 I ❤️ this 👨‍👩‍👧‍👦 family photo 📸 — see you at 🏖️ tomorrow 😀😃😄",
    "code": "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\nfor i in range(10):\n\tprint(f\"{i}: {fibonacci(i)}\")  # comment\n",
    "cpp": "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; for (auto& x : v) x *= 2; return v[0] != 2; }\r\n",
    "json": "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Zürich\", \"days\": 3, \"units\": [\"C\", \"F\"]}}",
    "numbers": "1 12 123 1234 12345 123456 3.14159 -2.5e10 1,000,000 0x1F 2024-11-22 10:30:00 +49 (0)30 1234567",
    "whitespace": "  leading spaces\n\n\ntrailing   \t\t tabs\t\n    \n \r\n\r\n mixed \u00a0nbsp\u3000ideographic  end   ",
    "special_tokens": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|> and <s>llama2</s> <unk> <|eot_id <|python_tag|>x",
    "contractions": "I'M YOU'RE HE'S WE'VE THEY'LL SHE'D don't won't y'all rock'n'roll 'quoted' ''",
    "mixed": "Price: €1.234,56 (≈ $1,337) — 50% off! Email: test@example.com, URL: https://example.com/a?b=c&d=e#f",
    "long_word": "Pneumonoultramicroscopicsilicovolcanoconiosis Donaudampfschifffahrtsgesellschaftskapitän " * 3,
    "empty_like": " ",
    "repeated": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!!!!!!!!!!!!----------==========",
}


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "models")
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "corpus.json"), "w") as f:
        json.dump(CORPUS, f, ensure_ascii=False, indent=1)
    out = {}
    for name in ("llama3.1-tokenizer", "llama2-tokenizer"):
        tok = Tokenizer.from_file(os.path.join(shared, name, "tokenizer.json"))
        entries = {}
        for key, text in CORPUS.items():
            ids = tok.encode(text).ids
            entries[key] = {
                "ids": ids,
                "ids_no_special": tok.encode(text, add_special_tokens=False).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            }
        out[name] = entries
    with open(os.path.join(DATA, "hf_ids.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False)
    print("wrote", DATA)


if __name__ == "__main__":
    main()
