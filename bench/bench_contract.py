"""Preprocessing and decoding cost of the contract for one ~600-character passage.

Run: .venv/bin/python -m bench.bench_contract
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from contract.decode import WindowOutputs, decode
from contract.encode import Encoder
from contract.tensors import batch_inputs

PASSAGE = (
    "经审理查明：2018年5月12日21时许，被告人张某某驾驶车牌号为京A12345的小型轿车，"
    "沿北京市朝阳区建国路由东向西行驶至大望路路口时，因未注意观察前方路况，与同向行驶的"
    "被害人李某某驾驶的电动自行车发生碰撞，致李某某受伤、车辆损坏。经北京市朝阳区交通支队"
    "认定，张某某负事故全部责任，李某某无责任。经鉴定，李某某的损伤程度为重伤二级。事故发生后，"
    "被告人张某某拨打120急救电话并在现场等候处理，到案后如实供述了自己的犯罪事实。案发后，"
    "被告人张某某的亲属代为赔偿被害人李某某经济损失人民币共计12.5万元，并取得了被害人的谅解。"
    "另查明，被告人张某某曾于2015年3月因犯危险驾驶罪被北京市东城区人民法院判处拘役二个月，"
    "并处罚金人民币3,000元，已于2015年5月刑满释放。上述事实，被告人张某某在开庭审理过程中"
    "亦无异议，且有被告人的供述、被害人陈述、证人王某某、赵某某的证言、道路交通事故认定书、"
    "司法鉴定意见书、现场勘查笔录及照片、户籍证明、前科判决书、刑满释放证明书、赔偿协议书及"
    "谅解书等证据证实，足以认定。本院认为，被告人张某某违反交通运输管理法规，因而发生重大事故，"
    "致一人重伤，负事故全部责任，其行为已构成交通肇事罪。公诉机关指控的罪名成立。被告人张某某"
    "案发后主动报警并在现场等候，归案后如实供述罪行，系自首，依法可以从轻处罚；其赔偿被害人"
    "经济损失并取得谅解，可酌情从轻处罚。"
)
QUESTION = "被告人张某某赔偿了被害人多少钱？"


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    encoder = Encoder()
    encoder.encode(QUESTION, PASSAGE)  # loads the jieba dictionary
    example = encoder.encode(QUESTION, PASSAGE)
    rows = [(example.question, w) for w in example.windows]
    rng = np.random.default_rng(0)
    noisy = rng.dirichlet([5, 1, 1], size=(len(rows), 512)).astype(np.float32)
    typical = np.tile(np.float32([0.98, 0.01, 0.01]), (len(rows), 512, 1))
    typical[:, 100] = [0.02, 0.95, 0.03]
    typical[:, 101:108] = [0.02, 0.03, 0.95]
    types = rng.dirichlet([1, 1, 1, 1], size=len(rows)).astype(np.float32)

    encode_ms = median_ms(lambda: encoder.encode(QUESTION, PASSAGE), 200)
    tensors_ms = median_ms(lambda: batch_inputs(rows, encoder.config), 200)
    typical_outputs = WindowOutputs(list(typical), list(types))
    noisy_outputs = WindowOutputs(list(noisy), list(types))
    boundary = rng.dirichlet(np.ones(512), size=(len(rows), 2)).transpose(0, 2, 1)
    headed_outputs = WindowOutputs(list(noisy), list(types), list(boundary.astype(np.float32)))
    decode_ms = median_ms(lambda: decode(example, typical_outputs, top_k=5, min_score=0.0), 200)
    noisy_ms = median_ms(lambda: decode(example, noisy_outputs, top_k=5, min_score=0.0), 200)
    headed_ms = median_ms(lambda: decode(example, headed_outputs, top_k=5, min_score=0.0), 200)
    jieba_ms = median_ms(lambda: encoder.segmenter.words(PASSAGE), 200)
    print(f"passage: {len(PASSAGE)} characters, {len(rows)} window(s)")
    print(f"| encode (normalise + jieba + features + windows) | {encode_ms:.2f} ms |")
    print(f"| of which jieba.lcut alone | {jieba_ms:.2f} ms |")
    print(f"| batch_inputs (padded arrays) | {tensors_ms:.3f} ms |")
    print(f"| decode (one answer per window) | {decode_ms:.3f} ms |")
    print(f"| decode (random BIO probabilities: hundreds of spans) | {noisy_ms:.3f} ms |")
    print(f"| the same, ends placed by random boundary rows | {headed_ms:.3f} ms |")


if __name__ == "__main__":
    main()
