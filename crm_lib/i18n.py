"""Report language: English (``en``) or Simplified Chinese (``zh``).

Every label that reaches a report (headings, table columns, category values, plot
titles and axes) goes through :func:`t` (messages) or :func:`label` (category values),
so one ``language`` parameter switches a whole notebook.

>>> t("rows", "zh")
'行数'
>>> label("north", "zh")
'华北'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

LANGUAGES = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    # table overview and profile columns
    "table": {"en": "Table", "zh": "数据表"},
    "rows_removed": {"en": "Rows removed", "zh": "删除行数"},
    "how": {"en": "Matched on", "zh": "匹配依据"},
    "column": {"en": "Column", "zh": "字段"},
    "dtype": {"en": "Type", "zh": "类型"},
    "rows": {"en": "Rows", "zh": "行数"},
    "columns": {"en": "Columns", "zh": "字段数"},
    "missing": {"en": "Missing", "zh": "缺失数"},
    "missing_share": {"en": "Missing share", "zh": "缺失比例"},
    "distinct": {"en": "Distinct values", "zh": "不同取值数"},
    "min": {"en": "Min", "zh": "最小值"},
    "max": {"en": "Max", "zh": "最大值"},
    "first": {"en": "First", "zh": "最早"},
    "last": {"en": "Last", "zh": "最晚"},
    "pii_hidden": {"en": "(personal data, hidden)", "zh": "（个人信息，已隐藏）"},
    "count": {"en": "Count", "zh": "数量"},
    "share": {"en": "Share", "zh": "占比"},
    "month": {"en": "Month", "zh": "月份"},
    "revenue": {"en": "Revenue", "zh": "销售额"},
    "orders": {"en": "Orders", "zh": "订单数"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "kind": {"en": "Kind of problem", "zh": "问题类型"},
    "records": {"en": "Records", "zh": "记录数"},
    "policy": {"en": "Missing-value policy", "zh": "缺失值处理策略"},
    "orphan_lines": {"en": "Order lines without a customer", "zh": "没有客户的订单行"},
    "orphan_orders": {"en": "Orders without a customer", "zh": "没有客户的订单"},
    "orphan_customers": {
        "en": "Customer ids not in the customers table",
        "zh": "客户表中不存在的客户编号",
    },
    "orphan_amount": {"en": "Net amount of those lines", "zh": "这些订单行的净金额"},
    "orphan_share_of_amount": {"en": "Share of the net amount", "zh": "占净金额的比例"},
    "encoding": {"en": "Encoding", "zh": "编码"},
    "file": {"en": "File", "zh": "文件"},
    "variant": {"en": "Variant", "zh": "实验组"},
    "conversion_rate": {"en": "Conversion rate", "zh": "转化率"},
    "converted": {"en": "Converted", "zh": "转化人数"},
    "assigned": {"en": "Assigned", "zh": "分配人数"},
    "revenue_per_customer": {"en": "Revenue per customer", "zh": "人均销售额"},
    "wave": {"en": "Survey wave", "zh": "调查轮次"},
    "responses": {"en": "Responses", "zh": "答卷数"},
    "nps_answer": {"en": "Likelihood to recommend (0-10)", "zh": "推荐意愿（0-10分）"},
    "nps_group": {"en": "NPS group", "zh": "NPS 分组"},
    "orders_per_customer": {"en": "Orders per customer", "zh": "每位客户的订单数"},
    "region": {"en": "Region", "zh": "区域"},
    "category": {"en": "Category", "zh": "品类"},
    "channel": {"en": "Channel", "zh": "渠道"},
    # chart titles
    "title_monthly_orders": {"en": "Orders per month", "zh": "每月订单数"},
    "title_missing": {"en": "Missing values in the raw exports", "zh": "原始导出数据中的缺失值"},
    "title_dirt": {"en": "Planted data problems by kind", "zh": "各类数据问题的数量"},
    "title_orders_hist": {"en": "How many orders do customers place?", "zh": "客户下单次数分布"},
    "title_revenue_region": {"en": "Revenue by region", "zh": "各区域销售额"},
    "title_conversion": {"en": "Conversion by variant", "zh": "各实验组转化率"},
    "title_nps_hist": {"en": "Answers to the recommendation question", "zh": "推荐意愿得分分布"},
    # experiments: tables (column names of crm_lib.experiments results)
    "metric": {"en": "Metric", "zh": "指标"},
    "segment": {"en": "Segment", "zh": "细分群体"},
    "treatment": {"en": "Treatment", "zh": "实验组"},
    "n": {"en": "n", "zh": "样本量"},
    "n_control": {"en": "n (control)", "zh": "对照组样本量"},
    "n_treatment": {"en": "n (treatment)", "zh": "实验组样本量"},
    "estimate_control": {"en": "Control estimate", "zh": "对照组估计值"},
    "estimate_treatment": {"en": "Treatment estimate", "zh": "实验组估计值"},
    "rate_control": {"en": "Rate (control)", "zh": "对照组转化率"},
    "rate_treatment": {"en": "Rate (treatment)", "zh": "实验组转化率"},
    "diff": {"en": "Difference", "zh": "差值"},
    "ci_low": {"en": "CI low", "zh": "置信区间下限"},
    "ci_high": {"en": "CI high", "zh": "置信区间上限"},
    "rel_diff": {"en": "Relative lift", "zh": "相对提升"},
    "rel_ci_low": {"en": "Rel. CI low", "zh": "相对提升区间下限"},
    "rel_ci_high": {"en": "Rel. CI high", "zh": "相对提升区间上限"},
    "statistic": {"en": "Statistic", "zh": "统计量"},
    "p_value": {"en": "p-value", "zh": "p 值"},
    "p_adjusted": {"en": "Adjusted p-value", "zh": "校正后 p 值"},
    "ci_level": {"en": "CI level", "zh": "置信水平"},
    "significant": {"en": "Significant", "zh": "是否显著"},
    "method": {"en": "Method", "zh": "方法"},
    "role": {"en": "Role", "zh": "指标角色"},
    "direction": {"en": "Direction", "zh": "方向"},
    "guardrail_breached": {"en": "Guardrail breached", "zh": "护栏指标恶化"},
    "observed_share": {"en": "Observed share", "zh": "实际占比"},
    "expected_share": {"en": "Planned share", "zh": "计划占比"},
    "expected_n": {"en": "Expected n", "zh": "期望样本量"},
    "srm": {"en": "SRM alarm", "zh": "SRM 警报"},
    "action": {"en": "Action", "zh": "处理建议"},
    "variance_reduction": {"en": "Variance reduction", "zh": "方差缩减"},
    "prob_beat_control": {"en": "P(beats control)", "zh": "优于对照组的概率"},
    "expected_loss_treatment": {"en": "Expected loss (ship)", "zh": "上线的期望损失"},
    "expected_loss_control": {"en": "Expected loss (keep)", "zh": "维持现状的期望损失"},
    "heterogeneity_p": {"en": "Heterogeneity p (Cochran Q)", "zh": "异质性 p 值（Cochran Q）"},
    "interaction_p": {"en": "Interaction p (logit LR)", "zh": "交互作用 p 值（Logit 似然比）"},
    "caution": {"en": "Caution", "zh": "注意"},
    "decision": {"en": "Decision", "zh": "决策"},
    "reason": {"en": "Reason", "zh": "理由"},
    "caveats": {"en": "Caveats", "zh": "注意事项"},
    "quantity": {"en": "Quantity", "zh": "项目"},
    "value": {"en": "Value", "zh": "数值"},
    "model": {"en": "Model", "zh": "模型"},
    "n_test": {"en": "Held-out customers", "zh": "留出集客户数"},
    "qini_coefficient": {"en": "Qini coefficient", "zh": "Qini 系数"},
    "incremental_total": {"en": "Incremental buyers (all)", "zh": "增量购买者（全部）"},
    "incremental_top_30": {"en": "Incremental buyers (top 30%)", "zh": "增量购买者（前 30%）"},
    "target_list_size": {"en": "Customers on the target list", "zh": "目标名单客户数"},
    "eligible_consenting": {"en": "Consenting customers scored", "zh": "已评分且同意营销的客户数"},
    "excluded_no_consent": {"en": "Excluded: no marketing consent", "zh": "排除：未同意营销"},
    "sample_size_per_arm": {"en": "Sample size per arm", "zh": "每组所需样本量"},
    "baseline_rate": {"en": "Baseline conversion", "zh": "基线转化率"},
    "power_available": {
        "en": "Power at the MDE with the customers we have",
        "zh": "现有客户数下对 MDE 的统计功效",
    },
    "mde_available": {"en": "MDE with the customers we have", "zh": "现有客户数下的 MDE"},
    "ci_width_ratio": {"en": "CI width, CUPED / Welch", "zh": "置信区间宽度之比（CUPED / Welch）"},
    "duration_days": {
        "en": "Enrolment days needed at this test's pace",
        "zh": "按本实验的纳入速度所需天数",
    },
    "warning_srm": {
        "en": "SAMPLE RATIO MISMATCH: the arm sizes do not match the planned split. Do not "
        "trust any effect below; the verdict is withheld until the cause is found.",
        "zh": "样本比例不匹配（SRM）：各组人数与计划比例不符。以下所有效应估计均不可信，"
        "在查明原因之前不给出结论。",
    },
    "caution_exploratory": {
        "en": "these segments were not pre-registered, so this analysis is exploratory "
        "(forking paths): a segment difference is a hypothesis for the next test, not a finding.",
        "zh": "这些细分群体并未事先登记，因此本分析属于探索性分析（分岔路径问题）："
        "群体间的差异只是下一次实验要检验的假设，而不是结论。",
    },
    "srm_ok": {
        "en": "No sample ratio mismatch: the arm sizes agree with the planned 50/50 split.",
        "zh": "未发现样本比例不匹配：各组人数与计划的 50/50 比例一致。",
    },
    # experiments: plots
    "n_per_arm": {"en": "Customers per arm", "zh": "每组客户数"},
    "power": {"en": "Power", "zh": "统计功效"},
    "mde": {"en": "Effect (absolute)", "zh": "效应（绝对值）"},
    "diff_ci": {
        "en": "Difference (treatment - control) with CI",
        "zh": "差值（实验组 - 对照组）及置信区间",
    },
    "always_valid_ci": {"en": "Always-valid CI", "zh": "随时有效置信区间"},
    "look": {"en": "Look (day)", "zh": "查看次数（天）"},
    "boundary": {"en": "Rejection boundary", "zh": "拒绝边界"},
    "fixed_horizon": {"en": "Fixed-horizon 1.96", "zh": "固定样本 1.96"},
    "observed_z": {"en": "Observed z", "zh": "观测 z 值"},
    "naive_peeking": {
        "en": "Naive: stop at first p < alpha",
        "zh": "朴素做法：首次 p < α 即停止",
    },
    "always_valid_test": {"en": "Always-valid test (mSPRT)", "zh": "随时有效检验（mSPRT）"},
    "nominal_alpha": {"en": "Nominal level", "zh": "名义显著性水平"},
    "false_positive_rate": {"en": "False-positive rate (A/A)", "zh": "假阳性率（A/A 实验）"},
    "title_peeking": {"en": "Why peeking misleads", "zh": "为什么“偷看”会误导"},
    "random_targeting": {"en": "Random targeting", "zh": "随机投放"},
    "targeted_share": {"en": "Share of customers targeted", "zh": "投放客户占比"},
    "incremental_responders": {"en": "Incremental buyers", "zh": "增量购买者"},
    "title_power_curve": {"en": "Power by sample size", "zh": "不同样本量下的统计功效"},
    "title_lift_ci": {"en": "Lift with confidence interval", "zh": "提升及其置信区间"},
    "title_segment_lift": {"en": "Conversion lift by segment", "zh": "各细分群体的转化提升"},
    "title_sequential": {"en": "Sequential monitoring", "zh": "序贯监测"},
    "title_qini": {"en": "Qini curve (held-out customers)", "zh": "Qini 曲线（留出集客户）"},
    "title_uplift_curve": {"en": "Uplift curve", "zh": "增益曲线"},
    # segmentation, clustering, customer value (notebook 03)
    "time_since_last": {"en": "Time since last purchase", "zh": "距上次购买时长"},
    "frequency": {"en": "Frequency (repeat purchases)", "zh": "购买次数（复购）"},
    "recency": {"en": "Recency (first to last purchase)", "zh": "首末次购买间隔"},
    "T": {"en": "Age T (first purchase to end)", "zh": "客户年龄 T（首购至观察期末）"},
    "monetary": {"en": "Spend (net)", "zh": "消费金额（净额）"},
    "monetary_value": {"en": "Mean repeat order value", "zh": "复购平均订单金额"},
    "monetary_total": {"en": "Net spend", "zh": "净消费总额"},
    "r_score": {"en": "R score", "zh": "R 得分"},
    "f_score": {"en": "F score", "zh": "F 得分"},
    "m_score": {"en": "M score", "zh": "M 得分"},
    "rfm_code": {"en": "RFM code", "zh": "RFM 编码"},
    "rfm_dimension": {"en": "Score of (R, F, M)", "zh": "得分维度（R、F、M）"},
    "min_value": {"en": "Lowest value", "zh": "最低值"},
    "max_value": {"en": "Highest value", "zh": "最高值"},
    "customer_share": {"en": "Share of customers", "zh": "客户占比"},
    "value_share": {"en": "Share of value", "zh": "价值占比"},
    "mean_value": {"en": "Mean value", "zh": "平均价值"},
    "cluster": {"en": "Cluster", "zh": "客群"},
    "n_clusters": {"en": "Number of clusters k", "zh": "聚类数 k"},
    "inertia": {"en": "Inertia (within-cluster SS)", "zh": "簇内平方和"},
    "silhouette": {"en": "Silhouette", "zh": "轮廓系数"},
    "silhouette_gmm": {"en": "Silhouette (GMM)", "zh": "轮廓系数（高斯混合）"},
    "bic": {"en": "BIC", "zh": "BIC"},
    "kmeans": {"en": "k-means", "zh": "k 均值"},
    "gmm": {"en": "Gaussian mixture", "zh": "高斯混合模型"},
    "title_elbow": {"en": "Elbow: inertia", "zh": "肘部法则：簇内平方和"},
    "title_silhouette": {"en": "Silhouette (higher is better)", "zh": "轮廓系数（越高越好）"},
    "title_bic": {"en": "BIC (lower is better)", "zh": "信息准则 BIC（越低越好）"},
    "all_customers": {"en": "all customers", "zh": "全部客户"},
    "rule": {"en": "Rule", "zh": "规则"},
    "purity": {"en": "Share in this cluster", "zh": "属于该客群的比例"},
    "rules_accuracy": {
        "en": "Customers the rules classify correctly",
        "zh": "规则正确归类的客户比例",
    },
    "replicate": {"en": "Bootstrap replicate", "zh": "自助抽样轮次"},
    "ari": {"en": "Adjusted Rand index", "zh": "调整兰德指数"},
    "stability_ari_mean": {"en": "Mean ARI", "zh": "平均 ARI"},
    "stability_ari_p10": {"en": "10th percentile ARI", "zh": "ARI 第 10 百分位数"},
    "attribute": {"en": "Attribute", "zh": "属性"},
    "level": {"en": "Level", "zh": "取值"},
    "overall_share": {"en": "Share overall", "zh": "总体占比"},
    "lift": {"en": "Lift", "zh": "提升度"},
    "needs_transactions_table": {
        "en": "*This section needs the transactions table (purchases after the survey), "
        "which this dataset does not have; add it with `crm data import`.*",
        "zh": "*本节需要交易表（调查之后的购买），该数据集没有交易表；可用 `crm data import` 导入。*",
    },
    "needs_customers_table": {
        "en": "*This section needs the customers table (attributes, consent), which this "
        "dataset does not have; add it with `crm data import`.*",
        "zh": "*本节需要客户表（属性、营销同意），该数据集没有客户表；可用 `crm data import` 导入。*",
    },
    "data_source": {"en": "Data", "zh": "数据"},
    "simulated_world": {
        "en": "simulated world '{size}', seed {seed}",
        "zh": "模拟世界（{size}，种子 {seed}）",
    },
    "your_exports": {"en": "your exports ({files})", "zh": "你的导出文件（{files}）"},
    "no_customers_export": {
        "en": "*This step needs the customers export, which was not given; it is skipped.*",
        "zh": "*本步骤需要客户导出文件，但没有提供，因此跳过。*",
    },
    "no_planted_truth": {
        "en": "*This dataset is not simulated, so there are no planted problems to score the "
        "cleaning against; the counts above are what the rules found.*",
        "zh": "*该数据集不是模拟数据，没有可用来评估清洗结果的植入问题；上面的计数就是规则发现的结果。*",
    },
    "cleaning_step": {"en": "Step", "zh": "步骤"},
    "survey_lacks_nps": {
        "en": "*This questionnaire has no recommendation (NPS) question, so this section is "
        "skipped.*",
        "zh": "*该问卷没有推荐意愿（NPS）题，本节跳过。*",
    },
    "survey_lacks_waves": {
        "en": "*This section compares survey waves: it needs NPS answers in at least two "
        "waves with start times, which this survey does not have.*",
        "zh": "*本节比较不同调查批次：需要至少两个批次、带开始时间的 NPS 回答，该调查没有。*",
    },
    "survey_lacks_csat": {
        "en": "*This questionnaire has no overall satisfaction (CSAT) or effort (CES) "
        "question, so this section is skipped.*",
        "zh": "*该问卷没有总体满意度（CSAT）或费力程度（CES）题，本节跳过。*",
    },
    "survey_lacks_comments": {
        "en": "*This survey has no free-text comments with NPS answers, so this section is "
        "skipped.*",
        "zh": "*该调查没有带 NPS 回答的文字评论，本节跳过。*",
    },
    "skipped_reason": {"en": "Skipped because", "zh": "跳过原因"},
    "no_customer_attributes": {
        "en": "This dataset has no customers table, so the clusters are profiled by "
        "purchase behaviour only (add one with `crm data import` to see regions, channels "
        "and the like).",
        "zh": "该数据集没有客户表，因此只按购买行为描述客群（可用 `crm data import` 导入客户表，"
        "以查看地区、渠道等属性）。",
    },
    "acquisition_channel": {"en": "Acquisition channel", "zh": "获客渠道"},
    "gender": {"en": "Gender", "zh": "性别"},
    "title_cluster_mix": {"en": "Who is in each cluster", "zh": "各客群的构成"},
    "historical_clv": {"en": "Historical CLV (net revenue)", "zh": "历史客户价值（净收入）"},
    "tier": {"en": "Value tier", "zh": "价值等级"},
    "cum_customer_share": {
        "en": "Share of customers (ranked by value)",
        "zh": "客户累计占比（按价值排序）",
    },
    "cum_value_share": {"en": "Cumulative share of value", "zh": "价值累计占比"},
    "equal_shares": {"en": "Equal shares", "zh": "完全均等"},
    "title_pareto": {"en": "Pareto curve of customer value", "zh": "客户价值帕累托曲线"},
    "top_share": {"en": "Value share of the top customers", "zh": "头部客户价值占比"},
    "tier_before": {"en": "Tier in first period", "zh": "前一期等级"},
    "tier_after": {"en": "Tier in second period", "zh": "后一期等级"},
    "movement": {"en": "Movement", "zh": "变动"},
    "title_migration": {"en": "Tier migration (row shares)", "zh": "价值等级迁移（按行占比）"},
    "stage": {"en": "Lifecycle stage", "zh": "生命周期阶段"},
    "days_since_first": {"en": "Days since first purchase", "zh": "距首次购买天数"},
    "days_since_last": {"en": "Days since last purchase", "zh": "距最近购买天数"},
    "title_lifecycle": {"en": "Customers by lifecycle stage", "zh": "各生命周期阶段的客户数"},
    "parameter": {"en": "Parameter", "zh": "参数"},
    "estimate": {"en": "Estimate", "zh": "估计值"},
    "std_error": {"en": "Std. error", "zh": "标准误"},
    "true_value": {"en": "True value (simulation)", "zh": "真实值（模拟）"},
    "frequency_calibration": {"en": "Repeat purchases in calibration", "zh": "校准期复购次数"},
    "actual_purchases": {"en": "Actual (holdout)", "zh": "实际（验证期）"},
    "predicted_purchases": {"en": "Predicted (BG/NBD)", "zh": "预测（BG/NBD）"},
    "mean_purchases_holdout": {"en": "Mean purchases in holdout", "zh": "验证期平均购买次数"},
    "title_holdout": {"en": "Holdout check of the BG/NBD model", "zh": "BG/NBD 模型的验证期检验"},
    "prob_alive": {"en": "P(alive)", "zh": "存活概率"},
    "expected_purchases": {"en": "Expected purchases", "zh": "预期购买次数"},
    "title_prob_alive": {"en": "Probability alive by recency", "zh": "不同近度下的存活概率"},
    "clv": {"en": "Customer lifetime value", "zh": "客户终身价值"},
    "expected_order_value": {"en": "Expected order value", "zh": "预期客单价"},
    "frequency_group": {"en": "Repeat purchases", "zh": "复购次数"},
    "mean_prob_alive": {"en": "Mean P(alive)", "zh": "平均存活概率"},
    "mean_expected_purchases": {"en": "Mean expected purchases", "zh": "平均预期购买次数"},
    "mean_expected_order_value": {"en": "Mean expected order value", "zh": "平均预期客单价"},
    "mean_clv": {"en": "Mean CLV", "zh": "平均客户终身价值"},
    "total_clv": {"en": "Total CLV", "zh": "客户终身价值合计"},
    "clv_share": {"en": "Share of total CLV", "zh": "占客户终身价值合计比例"},
    "title_fr_expected_purchases": {
        "en": "Expected purchases by frequency and recency",
        "zh": "不同购买次数与近度下的预期购买次数",
    },
    "title_fr_prob_alive": {
        "en": "P(alive) by frequency and recency",
        "zh": "不同购买次数与近度下的存活概率",
    },
    "weeks_since_last": {"en": "Weeks since last purchase", "zh": "距上次购买周数"},
    "days": {"en": "days", "zh": "天"},
    "weeks": {"en": "weeks", "zh": "周"},
    "median": {"en": "median", "zh": "中位数"},
    "total_value": {"en": "Total value", "zh": "价值合计"},
    "title_eight_classes": {"en": "Share of value by RFM class", "zh": "各 RFM 类别的价值占比"},
    "title_stability": {
        "en": "Bootstrap agreement with the full-data clusters",
        "zh": "自助抽样聚类与全样本聚类的一致性",
    },
    "covered": {"en": "Interval covers the truth", "zh": "区间覆盖真实值"},
    "mean_stat": {"en": "Mean", "zh": "均值"},
    "median_stat": {"en": "Median", "zh": "中位数"},
    "std_stat": {"en": "Std. dev.", "zh": "标准差"},
    "p90_stat": {"en": "90th percentile", "zh": "第 90 百分位数"},
    # data quality and privacy (notebooks 01-02)
    "dimension": {"en": "Quality dimension", "zh": "质量维度"},
    "score": {"en": "Score", "zh": "得分"},
    "score_before": {"en": "Before standardisation", "zh": "标准化前"},
    "score_after": {"en": "After standardisation", "zh": "标准化后"},
    "change": {"en": "Change", "zh": "变化"},
    "n_checked": {"en": "Checked", "zh": "检查数"},
    "n_failed": {"en": "Failed", "zh": "不合格数"},
    "source": {"en": "Source", "zh": "来源"},
    "rows_in": {"en": "Rows in", "zh": "读入行数"},
    "rows_accepted": {"en": "Accepted", "zh": "接受行数"},
    "rows_quarantined": {"en": "Quarantined", "zh": "隔离行数"},
    "balanced": {"en": "Balanced", "zh": "是否平衡"},
    "status": {"en": "Status", "zh": "状态"},
    "mapping": {"en": "Mapping", "zh": "映射"},
    "mapping_version": {"en": "Mapping version", "zh": "映射版本"},
    "sha256_short": {
        "en": "File checksum (SHA-256, first 12)",
        "zh": "文件校验和（SHA-256 前 12 位）",
    },
    "loaded_at": {"en": "Loaded at (UTC)", "zh": "加载时间（UTC）"},
    "planted": {"en": "Planted (truth)", "zh": "植入数（真实）"},
    "found": {"en": "Found by the pipeline", "zh": "流程发现数"},
    "outliers": {"en": "Outliers", "zh": "异常值"},
    "amount_log10": {"en": "Sale line amount (log10)", "zh": "销售行金额（log10）"},
    "pii_findings": {"en": "PII findings", "zh": "个人信息发现数"},
    "title_scorecard": {"en": "Data quality by dimension", "zh": "各维度数据质量"},
    "title_quarantine": {"en": "Quarantined rows by rule", "zh": "各规则隔离的行数"},
    "match_probability": {"en": "Match probability", "zh": "匹配概率"},
    "match_weight": {"en": "Match weight (log2 odds)", "zh": "匹配权重（log2 几率）"},
    "pairs": {"en": "Record pairs", "zh": "记录对数"},
    "threshold": {"en": "Threshold", "zh": "阈值"},
    "title_match_weight": {
        "en": "Accepted record pairs by match weight",
        "zh": "接受的记录对：匹配权重分布",
    },
    # satisfaction study (notebook 05)
    "omega": {"en": "McDonald's omega", "zh": "McDonald ω 系数"},
    "rank": {"en": "Rank", "zh": "名次"},
    "p_rank": {"en": "P(this rank)", "zh": "处于该名次的概率"},
    "probability": {"en": "Probability", "zh": "概率"},
    "driver_a": {"en": "Driver ahead", "zh": "领先的驱动因素"},
    "driver_b": {"en": "Driver behind", "zh": "落后的驱动因素"},
    "p_order": {"en": "P(ahead)", "zh": "领先的概率"},
    "resolved": {"en": "Order resolved", "zh": "先后已分辨"},
    "drivers_all_resolved": {
        "en": "All differences between the drivers' shares are resolved: every "
        "{level} bootstrap interval of a difference excludes 0 ({n_boot} resamples).",
        "zh": "各驱动因素份额之间的差异均已分辨：每个差值的 {level} 自助法区间都不包含 0"
        "（{n_boot} 次重抽样）。",
    },
    "drivers_unresolved": {
        "en": "Not resolved at {level}: the bootstrap interval of the difference covers 0, "
        "so the data cannot order these drivers, whatever the point estimates say: "
        "{pairs}.",
        "zh": "在 {level} 水平上尚未分辨：差值的自助法区间包含 0，"
        "因此无论点估计如何，数据都无法确定这些驱动因素的先后：{pairs}。",
    },
    "drivers_unresolved_pair": {
        "en": "{a} vs {b} (difference {diff:.3f}, interval {low:.3f} to {high:.3f}; "
        "{a} ahead in {p:.0%} of {n_boot} resamples)",
        "zh": "{a}与{b}（差值 {diff:.3f}，区间 {low:.3f} 至 {high:.3f}；"
        "在 {n_boot} 次重抽样中{a}领先的比例为 {p:.0%}）",
    },
    "n_ci": {"en": "n of the interval", "zh": "区间所用样本量"},
    "nan_policy": {"en": "Missing answers", "zh": "缺失答案处理"},
    "reliability": {"en": "Reliability", "zh": "信度"},
    "group": {"en": "Group", "zh": "分组"},
    "doc_share": {"en": "Share of comments", "zh": "提及评论占比"},
    "comment": {"en": "Comment (redacted)", "zh": "评论（已脱敏）"},
    "n_excluded": {"en": "Excluded", "zh": "剔除数"},
    "n_flagged": {"en": "Flagged", "zh": "标记数"},
    "n_missing": {"en": "Missing", "zh": "缺失数"},
    "n_eff": {"en": "Effective n", "zh": "有效样本量"},
    "promoters": {"en": "Promoters", "zh": "推荐者占比"},
    "passives": {"en": "Passives", "zh": "被动者占比"},
    "detractors": {"en": "Detractors", "zh": "贬损者占比"},
    "nps": {"en": "NPS", "zh": "净推荐值"},
    "se": {"en": "Std. error", "zh": "标准误"},
    "construct": {"en": "Construct", "zh": "维度"},
    "alpha": {"en": "Cronbach's alpha", "zh": "克隆巴赫 α"},
    "driver": {"en": "Driver", "zh": "驱动因素"},
    "importance": {"en": "Importance (share of R²)", "zh": "重要性（R² 占比）"},
    "performance": {"en": "Performance (mean)", "zh": "表现（均值）"},
    "quadrant": {"en": "Quadrant", "zh": "象限"},
    "rate": {"en": "Rate", "zh": "比例"},
    "repurchase_rate": {"en": "Repurchase rate after the survey", "zh": "调查后复购率"},
    "n_repurchased": {"en": "Repurchased", "zh": "复购人数"},
    "term": {"en": "Term", "zh": "词语"},
    "weighting": {"en": "Weighting", "zh": "加权方式"},
    "unweighted": {"en": "Unweighted", "zh": "未加权"},
    "weighted": {"en": "Weighted (raked)", "zh": "加权（迭代比例拟合）"},
    "design_effect": {"en": "Design effect", "zh": "设计效应"},
    "title_nps_trend": {"en": "NPS by wave, with 95% intervals", "zh": "各轮 NPS 及 95% 置信区间"},
    "title_repurchase": {
        "en": "Repurchase after the survey by NPS group",
        "zh": "各 NPS 分组调查后的复购率",
    },
    "title_cluster_profiles": {
        "en": "Cluster profiles (colour: standardised mean; numbers: medians)",
        "zh": "客群画像（颜色：标准化均值；数字：中位数）",
    },
    # personalization study (notebook 09): basket rules, next-best product, trigger lists
    "antecedent": {"en": "If bought", "zh": "若购买"},
    "consequent": {"en": "Then also", "zh": "则也购买"},
    "n_both": {"en": "Baskets with both", "zh": "同时包含的购物篮数"},
    "antecedent_support": {"en": "Support (if)", "zh": "前项支持度"},
    "consequent_support": {"en": "Support (then)", "zh": "后项支持度"},
    "support": {"en": "Support", "zh": "支持度"},
    "confidence": {"en": "Confidence", "zh": "置信度"},
    "leverage": {"en": "Leverage", "zh": "杠杆度"},
    "conviction": {"en": "Conviction", "zh": "确信度"},
    "planted_lift": {"en": "True lift (simulation)", "zh": "真实提升度（模拟）"},
    "rank_by_lift": {"en": "Rank by lift", "zh": "按提升度排名"},
    "hit_rate": {"en": "Hit rate@k", "zh": "命中率@k"},
    "precision": {"en": "Precision@k", "zh": "精确率@k"},
    "recall": {"en": "Recall@k", "zh": "召回率@k"},
    "coverage": {"en": "Catalogue coverage", "zh": "商品覆盖率"},
    "diff_personal": {"en": "Minus personal", "zh": "减个人基线"},
    "diff_popularity": {"en": "Minus popularity", "zh": "减热门基线"},
    "trigger": {"en": "Trigger", "zh": "触发规则"},
    "matched": {"en": "Matched", "zh": "命中人数"},
    "no_consent": {"en": "No consent", "zh": "未同意营销"},
    "higher_priority": {"en": "In a higher trigger", "zh": "已在更高优先级规则"},
    "listed": {"en": "Listed", "zh": "列入名单"},
    "contact": {"en": "Contact", "zh": "发送"},
    "holdout": {"en": "Hold-out", "zh": "保留对照"},
    "title_rules": {
        "en": "Pair rules: support against lift (dashed: minimum support)",
        "zh": "商品对规则：支持度与提升度（虚线：最小支持度）",
    },
    "title_recommenders": {
        "en": "Next-basket hit rate@k on the holdout, with 95% intervals",
        "zh": "验证期下一购物篮命中率@k 及 95% 置信区间",
    },
    "title_triggers": {"en": "Today's trigger lists (dry run)", "zh": "今日触发名单（试运行）"},
    "no_basket_items": {
        "en": "**This dataset has no item-level baskets** (no `basket_lines` table and no "
        "`product_id` in the order lines), so there are no rules and no recommendations.",
        "zh": "**该数据集没有商品级购物篮数据**（既没有 `basket_lines` 表，订单明细中也没有 "
        "`product_id`），因此无法得到关联规则和推荐。",
    },
    "recommender_wins": {
        "en": "**The {method} recommender beats both baselines** on the holdout: its hit "
        "rate@{k} is higher than the popularity and the personal baseline, with both paired "
        "95% intervals of the difference above zero.",
        "zh": "**{method}推荐在验证期上优于两个基线**：其命中率@{k} 高于热门基线和个人常购基线，"
        "两个配对差异的 95% 置信区间都在零以上。",
    },
    "recommender_does_not_win": {
        "en": "**On this dataset the recommender does not beat both baselines.** The method "
        "chosen before the holdout ({method}) is not better than the popularity and the personal "
        "baseline at hit rate@{k} with a paired 95% interval above zero. Use the simpler "
        "baseline for the list, or collect more history before personalising.",
        "zh": "**在该数据集上，推荐器没有同时优于两个基线。**在验证期之前选出的方法（{method}）"
        "在命中率@{k} 上并不比热门基线和个人常购基线更好（配对差异的 95% 置信区间未全部高于零）。"
        "名单请使用更简单的基线，或积累更多历史数据后再做个性化推荐。",
    },
    "triggers_not_run": {
        "en": "Not run, the dataset lacks their table: {names}.",
        "zh": "以下规则未运行（数据集缺少所需的表）：{names}。",
    },
    # churn and retention study (notebook 06)
    "still_active": {"en": "Still active", "zh": "仍在订阅/活跃"},
    "title_kaplan_meier": {
        "en": "Kaplan-Meier survival by segment",
        "zh": "各细分的 Kaplan-Meier 生存曲线",
    },
    "tenure_months": {"en": "Tenure (months)", "zh": "在网时长（月）"},
    "tenure_days": {"en": "Days since the first purchase", "zh": "距首次购买天数"},
    "true_positive_rate": {"en": "True positive rate", "zh": "真正例率"},
    "recall_axis": {"en": "Recall", "zh": "召回率"},
    "precision_axis": {"en": "Precision", "zh": "精确率"},
    "title_roc": {"en": "ROC curve", "zh": "ROC 曲线"},
    "title_pr": {"en": "Precision-recall curve", "zh": "精确率-召回率曲线"},
    "mean_predicted": {"en": "Mean predicted churn probability", "zh": "平均预测流失概率"},
    "observed_rate": {"en": "Observed churn rate", "zh": "实际流失率"},
    "title_reliability": {"en": "Reliability (calibration) curve", "zh": "可靠性（校准）曲线"},
    "customers_contacted": {"en": "Customers contacted (by score)", "zh": "按得分联系的客户比例"},
    "churners_found": {"en": "Churners found", "zh": "找到的流失客户比例"},
    "title_gain": {"en": "Cumulative gain", "zh": "累积增益"},
    "auc_drop": {"en": "Drop in ROC AUC when shuffled", "zh": "打乱后 ROC AUC 的下降"},
    "title_drivers": {
        "en": "Top churn drivers (permutation importance)",
        "zh": "主要流失驱动因素（置换重要性）",
    },
    "months_since": {"en": "Months since the first purchase", "zh": "距首次购买月数"},
    "cohort": {"en": "Cohort", "zh": "同期群"},
    "months_since_start": {"en": "Months since the start", "zh": "距订阅开始月数"},
    "title_retention": {
        "en": "Customer retention by acquisition month",
        "zh": "各获客月份的客户留存",
    },
    "title_revenue_retention": {
        "en": "Revenue retention by acquisition month",
        "zh": "各获客月份的收入留存",
    },
    "truth": {"en": "Truth (simulation)", "zh": "真实值（模拟）"},
    "title_sbg": {
        "en": "Subscription survival: observed and sBG projection",
        "zh": "订阅存续：观测值与 sBG 预测",
    },
    "days_between_orders": {"en": "Days between orders", "zh": "两次订单间隔天数"},
    "title_inter_purchase": {"en": "Inter-purchase time", "zh": "购买间隔时间"},
    "roc_auc": {"en": "ROC AUC", "zh": "ROC AUC"},
    "roc_auc_low": {"en": "AUC 95% low", "zh": "AUC 95% 下限"},
    "roc_auc_high": {"en": "AUC 95% high", "zh": "AUC 95% 上限"},
    "pr_auc": {"en": "PR AUC", "zh": "PR AUC"},
    "brier": {"en": "Brier score", "zh": "Brier 分数"},
    "ece": {"en": "Calibration error (ECE)", "zh": "校准误差（ECE）"},
    "top_decile_lift": {"en": "Top-decile lift", "zh": "前 10% 提升度"},
    "coef": {"en": "Coefficient (log hazard ratio)", "zh": "系数（对数风险比）"},
    "hazard_ratio": {"en": "Hazard ratio", "zh": "风险比"},
    "rho": {"en": "Correlation with time", "zh": "与时间的相关系数"},
    "proportional": {"en": "Proportional?", "zh": "满足比例风险？"},
    "feature": {"en": "Feature", "zh": "特征"},
    "churners": {"en": "Churners", "zh": "流失客户数"},
    "churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "decile": {"en": "Decile", "zh": "十分位组"},
    "cumulative_share": {"en": "Cumulative share of customers", "zh": "累计客户占比"},
    "cumulative_gain": {"en": "Cumulative gain", "zh": "累积增益"},
    "split": {"en": "Split", "zh": "数据集"},
    "cutoff": {"en": "Cut-off", "zh": "截止时间"},
    "label_window_end": {"en": "Label window end", "zh": "标签窗口结束"},
    "customer": {"en": "Customer (pseudonym)", "zh": "客户（假名）"},
    "churn_probability": {"en": "Churn probability", "zh": "流失概率"},
    "predicted_value": {"en": "Predicted value", "zh": "预测价值"},
    "expected_value_saved": {"en": "Expected value saved", "zh": "预期挽回价值"},
    "periods_observed": {"en": "Months observed", "zh": "观测月数"},
    "ci_low_hr": {"en": "HR 95% low", "zh": "风险比 95% 下限"},
    "no_subscriptions": {
        "en": "This dataset has no `subscriptions` table (contractual data: tenure and a churn flag), so the contractual part (Cox model, sBG cohorts) is skipped. Add one with `crm data import FILE --mapping MAPPING` (a mapping whose table is subscriptions).",
        "zh": "该数据集没有 `subscriptions` 表（合约型数据：在网时长和流失标记），因此跳过合约部分（Cox 模型、sBG 同期群）。可用 `crm data import FILE --mapping MAPPING`（目标表为 subscriptions 的映射）导入。",
    },
    "no_customers_table": {
        "en": "This dataset has no `customers` table: no consent flags, so no retention target list is produced (consent must be given, never assumed).",
        "zh": "该数据集没有 `customers` 表：没有营销同意标记，因此不生成挽留名单（必须获得同意，不能假定）。",
    },
    # attribution study (notebook 08)
    "removal_effect": {"en": "Removal effect", "zh": "移除效应"},
    "conversions": {"en": "Conversions", "zh": "转化数"},
    "no_attribution_truth": {
        "en": "*This dataset has no ground truth of channel effects (it is not the simulated "
        "world), so the models cannot be checked against it: compare them with each other "
        "and, better, with a holdout experiment (notebook 04).*",
        "zh": "*该数据集没有渠道效应的真实值（不是模拟世界），无法据此检验各模型：只能相互比较，"
        "更好的做法是用留出对照实验（笔记 04）检验。*",
    },
    "p_without": {"en": "P(conversion) without the channel", "zh": "移除该渠道后的转化概率"},
    "true_share": {"en": "True share", "zh": "真实占比"},
    "mean_abs_error": {"en": "Mean absolute error", "zh": "平均绝对误差"},
    "rank_correlation": {"en": "Rank correlation", "zh": "秩相关"},
    "same_order": {"en": "Same order as the truth", "zh": "与真实排序一致"},
    "journeys": {"en": "Journeys", "zh": "旅程数"},
    "converting_journeys": {"en": "Converting journeys", "zh": "转化旅程数"},
    "null_journeys": {"en": "Null journeys", "zh": "未转化旅程数"},
    "distinct_paths": {"en": "Distinct paths", "zh": "不同路径数"},
    "touches": {"en": "Touches", "zh": "触点数"},
    "mean_touches": {"en": "Touches per journey", "zh": "平均每旅程触点数"},
    "conversions_without_journey": {
        "en": "Conversions without a touch in the window",
        "zh": "窗口内无触点的转化",
    },
    "customers_without_touch": {"en": "Customers without a touch", "zh": "无触点客户数"},
    "channels": {"en": "Channels", "zh": "渠道数"},
    "path": {"en": "Path", "zh": "路径"},
    "nulls": {"en": "Not converted", "zh": "未转化"},
    "cost": {"en": "Cost", "zh": "成本"},
    "cost_per_conversion": {"en": "Cost per conversion", "zh": "单次转化成本"},
    "new_cost": {"en": "Cost (what-if)", "zh": "成本（假设情景）"},
    "new_conversions": {"en": "Conversions (what-if)", "zh": "转化数（假设情景）"},
    "title_attribution_shares": {
        "en": "Channel shares by model (whiskers: bootstrap interval)",
        "zh": "各模型的渠道占比（误差线：自助法区间）",
    },
    "no_touchpoints": {
        "en": "**This dataset has no `touchpoints` table**, so there are no journeys to "
        "attribute. Add one (columns customer_id, touched_at, channel; optional campaign, "
        "cost) with `crm data import FILE --mapping MAPPING --out DATASET` or as "
        "`tables/touchpoints.parquet`; conversions come from the `transactions` table "
        "(each customer's first purchase).",
        "zh": "**该数据集没有 `touchpoints`（触点）表**，因此没有可归因的客户旅程。请添加该表"
        "（字段 customer_id、touched_at、channel；可选 campaign、cost），可用 "
        "`crm data import FILE --mapping MAPPING --out DATASET` 导入，或保存为 "
        "`tables/touchpoints.parquet`；转化取自 `transactions` 表（每位客户的首次购买）。",
    },
    # funnel, pipeline and KPIs (notebook 07)
    "step": {"en": "Step", "zh": "步骤"},
    "units": {"en": "Visitors", "zh": "访客数"},
    "rate_from_previous": {"en": "Rate from previous stage", "zh": "上一阶段转化率"},
    "rate_from_first": {"en": "Rate from first stage", "zh": "自首阶段转化率"},
    "drop_off": {"en": "Drop-off", "zh": "流失率"},
    "win_rate": {"en": "Win rate (raw)", "zh": "赢单率（原始）"},
    "shrunk": {"en": "Win rate (shrunk)", "zh": "赢单率（收缩估计）"},
    "shrunk_low": {"en": "Shrunk CI low", "zh": "收缩区间下限"},
    "shrunk_high": {"en": "Shrunk CI high", "zh": "收缩区间上限"},
    "rank_raw": {"en": "Rank (raw)", "zh": "排名（原始）"},
    "rank_shrunk": {"en": "Rank (shrunk)", "zh": "排名（收缩）"},
    "closed": {"en": "Closed deals", "zh": "已结商机数"},
    "won": {"en": "Won", "zh": "赢单数"},
    "reached": {"en": "Reached", "zh": "到达数"},
    "left": {"en": "Left the stage", "zh": "离开该阶段数"},
    "moved_on": {"en": "Moved on", "zh": "推进数"},
    "median_days": {"en": "Median (days)", "zh": "中位数（天）"},
    "n_censored": {"en": "Open (censored)", "zh": "未结（删失）"},
    "loss_reason": {"en": "Loss reason", "zh": "丢单原因"},
    "lost": {"en": "Lost deals", "zh": "丢单数"},
    "amount": {"en": "Amount", "zh": "金额"},
    "response_hours": {"en": "First response", "zh": "首次响应时间"},
    "conversion": {"en": "Conversion", "zh": "转化率"},
    "open_deals": {"en": "Open deals", "zh": "未结商机数"},
    "mean_won_amount": {"en": "Mean won amount", "zh": "平均赢单金额"},
    "cycle_days": {"en": "Cycle (days)", "zh": "销售周期（天）"},
    "velocity_per_day": {"en": "Velocity per day", "zh": "每日销售速度"},
    "kpi": {"en": "KPI", "zh": "指标"},
    "definition": {"en": "Definition", "zh": "定义"},
    "test": {"en": "Test of a change", "zh": "变化的检验"},
    "previous": {"en": "Previous period", "zh": "上期"},
    "pct_change": {"en": "Change (%)", "zh": "变化（%）"},
    "beyond_noise": {"en": "Beyond noise", "zh": "超出随机波动"},
    "mape": {"en": "MAPE (%)", "zh": "MAPE（%）"},
    "mase": {"en": "MASE", "zh": "MASE"},
    "interval_coverage": {"en": "Interval coverage", "zh": "区间覆盖率"},
    "nominal_coverage": {"en": "Nominal coverage", "zh": "名义覆盖率"},
    "width": {"en": "Mean interval width", "zh": "平均区间宽度"},
    "origins": {"en": "Origins", "zh": "预测起点数"},
    "expected": {"en": "Expected", "zh": "期望值"},
    "lower": {"en": "Lower", "zh": "下限"},
    "upper": {"en": "Upper", "zh": "上限"},
    "actual": {"en": "Actual", "zh": "实际值"},
    "auc": {"en": "AUC", "zh": "AUC"},
    "brier_baseline": {"en": "Brier (base rate only)", "zh": "Brier（仅基础比例）"},
    "base_rate": {"en": "Base rate", "zh": "基础转化率"},
    "n_train": {"en": "Training leads", "zh": "训练线索数"},
    "n_holdout": {"en": "Holdout leads", "zh": "验证线索数"},
    "cum_share_of_conversions": {"en": "Cumulative share of conversions", "zh": "累计转化占比"},
    "calendar_event": {"en": "Holiday or promotion", "zh": "节假日或促销"},
    "uplift_estimate": {"en": "Estimated uplift", "zh": "估计提升"},
    "uplift_truth": {"en": "True uplift (simulation)", "zh": "真实提升（模拟）"},
    "no_calendar": {
        "en": "No `calendar_events` table: the forecast has no holiday or promotion "
        "regressors (give their dates with `holiday_dates`, or import the table).",
        "zh": "没有 `calendar_events` 表：预测不含节假日或促销回归变量（可用 `holiday_dates` "
        "给出日期，或导入该表）。",
    },
    "too_few_weeks": {
        "en": "Only {n} complete weeks: too few for a weekly forecast (30 are needed).",
        "zh": "只有 {n} 个完整周：数据太少，无法做周度预测（至少需要 30 周）。",
    },
    "not_a_column": {
        "en": "`{column}` is not a column of the `{table}` table.",
        "zh": "`{column}` 不是 `{table}` 表中的列。",
    },
    "missing_table": {
        "en": "Skipped: this dataset has no `{table}` table.",
        "zh": "已跳过：该数据集没有 `{table}` 表。",
    },
    "title_funnel": {
        "en": "Stage-to-stage conversion, 95% intervals",
        "zh": "各阶段转化率及 95% 置信区间",
    },
    "title_win_rates": {
        "en": "Win rate by sales rep: raw and shrunk",
        "zh": "各销售代表赢单率：原始与收缩估计",
    },
    "title_cycle": {
        "en": "Deals still open by days since creation",
        "zh": "按创建后天数计的未结商机比例",
    },
    "title_calibration": {"en": "Lead score calibration (holdout)", "zh": "线索评分校准（验证集）"},
    "title_revenue_forecast": {"en": "Weekly revenue and forecast", "zh": "每周销售额及预测"},
    "predicted": {"en": "Predicted", "zh": "预测值"},
    "observed": {"en": "Observed", "zh": "观测值"},
    "week": {"en": "Week", "zh": "周"},
    "share_open": {"en": "Share still open", "zh": "仍未结比例"},
    "funnel_stage": {"en": "Stage", "zh": "阶段"},
    "leads": {"en": "Leads", "zh": "线索数"},
    "n_deals": {"en": "Open deals", "zh": "未结商机数"},
    "reject": {"en": "Significant after correction", "zh": "校正后显著"},
    "rate_rest": {"en": "Rate of the other groups", "zh": "其余组比例"},
    "entered": {"en": "Entered", "zh": "进入数"},
    "mean_days_left": {"en": "Mean days (deals that left)", "zh": "平均天数（已离开的商机）"},
    "stage_time": {"en": "Time to the next stage", "zh": "到下一阶段的时间"},
    "title_stage_times": {
        "en": "Time between stages (box: quartiles; whiskers: 5th-95th percentile)",
        "zh": "阶段间耗时（箱体：四分位数；须线：第 5 至 95 百分位数）",
    },
    # zh reports in Chinese (issue 19): column headings and quantities shown in tables
    "pii": {"en": "Personal data", "zh": "个人信息"},
    "unit": {"en": "Unit", "zh": "单位"},
    "description": {"en": "Description", "zh": "说明"},
    "customer_id": {"en": "Customer id", "zh": "客户编号"},
    "name": {"en": "Name", "zh": "姓名"},
    "email": {"en": "E-mail", "zh": "邮箱"},
    "phone": {"en": "Phone", "zh": "手机号"},
    "signup_at": {"en": "Signed up", "zh": "注册时间"},
    "birth_year": {"en": "Birth year", "zh": "出生年份"},
    "marketing_consent": {"en": "Marketing consent", "zh": "营销同意"},
    "may_contact": {"en": "May be contacted", "zh": "可联系"},
    "product_id": {"en": "Product id", "zh": "商品编号"},
    "lead_id": {"en": "Lead id", "zh": "线索编号"},
    "owner_id": {"en": "Sales rep", "zh": "销售代表"},
    "created_at": {"en": "Created", "zh": "创建时间"},
    "rows_out": {"en": "Rows kept", "zh": "保留行数"},
    "rows_set_aside": {"en": "Rows set aside", "zh": "移出行数"},
    "note": {"en": "Note", "zh": "说明"},
    "found_planted": {"en": "Found and planted", "zh": "发现且为植入"},
    "found_not_planted": {"en": "Found, not planted", "zh": "发现但非植入"},
    "outlier_rule": {"en": "Outlier rule", "zh": "异常值规则"},
    "outlier_policy": {"en": "Outlier policy", "zh": "异常值处理策略"},
    "outliers_flagged": {"en": "Lines flagged", "zh": "被标记的订单行"},
    "outliers_planted_loaded": {"en": "Planted outliers loaded", "zh": "已加载的植入异常值"},
    "outliers_planted_flagged": {"en": "Planted outliers flagged", "zh": "被标记的植入异常值"},
    "outlier_recall": {"en": "Recall", "zh": "召回率"},
    "outlier_precision": {"en": "Precision", "zh": "精确率"},
    "masters": {"en": "Master records", "zh": "主记录数"},
    "merged": {"en": "Records merged", "zh": "被合并的记录数"},
    "pairs_exact_email": {"en": "Pairs: same e-mail", "zh": "记录对：邮箱相同"},
    "pairs_exact_email_phone": {
        "en": "Pairs: same e-mail and phone",
        "zh": "记录对：邮箱与手机号均相同",
    },
    "pairs_exact_phone": {"en": "Pairs: same phone", "zh": "记录对：手机号相同"},
    "pairs_match_probability": {
        "en": "Pairs: match probability at the threshold or above",
        "zh": "记录对：匹配概率不低于阈值",
    },
    "dedup_true_pairs": {"en": "Planted duplicate pairs", "zh": "植入的重复记录对"},
    "dedup_found_pairs": {"en": "Pairs merged", "zh": "合并的记录对"},
    "dedup_found_true_pairs": {"en": "Planted pairs merged", "zh": "合并的植入记录对"},
    "dedup_precision": {"en": "Precision (pairs)", "zh": "精确率（记录对）"},
    "dedup_recall": {"en": "Recall (pairs)", "zh": "召回率（记录对）"},
    "customers_before": {"en": "Customers before", "zh": "去重前客户数"},
    "customers_after": {"en": "Customers after", "zh": "去重后客户数"},
    "order_lines_reattributed": {"en": "Order lines re-attributed", "zh": "重新归属的订单行"},
    "orders_reattributed": {"en": "Orders re-attributed", "zh": "重新归属的订单"},
    "planted_lines_loaded": {"en": "Planted lines loaded", "zh": "已加载的植入订单行"},
    "planted_lines_reattributed": {
        "en": "Planted lines re-attributed",
        "zh": "重新归属的植入订单行",
    },
    "orders_with_returns": {"en": "Orders with returns", "zh": "有退货的订单"},
    "orders_fully_returned": {"en": "Orders fully returned", "zh": "全部退货的订单"},
    "gross_amount": {"en": "Gross amount", "zh": "总额"},
    "returned_amount": {"en": "Returned amount", "zh": "退货额"},
    "net_amount": {"en": "Net amount", "zh": "净额"},
    "return_rate": {"en": "Return rate", "zh": "退货率"},
    "quarantined_over_credit": {
        "en": "Quarantined: credit above the order",
        "zh": "隔离：退款超过原订单",
    },
    "quarantined_credit_without_order": {
        "en": "Quarantined: credit without an order",
        "zh": "隔离：没有原订单的退款",
    },
    "quarantined_return_without_order": {
        "en": "Quarantined: return without an order",
        "zh": "隔离：没有原订单的退货",
    },
    "pseudonym_key_source": {"en": "Pseudonym key from", "zh": "假名密钥来源"},
    "share_of_lines_joined_to_a_customer": {
        "en": "Share of lines joined to a customer",
        "zh": "能关联到客户的订单行比例",
    },
    "pii_findings_after_pseudonymisation": {
        "en": "Personal data found after pseudonymisation",
        "zh": "假名化后发现的个人信息",
    },
    "found_by_missing_policy": {
        "en": "missing-value policy: kept as 'unknown', or quarantine: required",
        "zh": "缺失值策略：保留为“未知”，或隔离（必填为空）",
    },
    "found_by_key": {"en": "quarantine: key", "zh": "隔离：主键重复"},
    "found_by_contract": {"en": "quarantine: contract", "zh": "隔离：违反契约"},
    "found_by_outlier_rule": {
        "en": "{rule} rule, policy {policy}",
        "zh": "{rule}规则，处理策略：{policy}",
    },
    "found_by_test_rule": {"en": "exclusion: e-mail/name rule", "zh": "排除：邮箱/姓名规则"},
    "found_by_test_buyer": {
        "en": "exclusion: buyer is a test account",
        "zh": "排除：买家是测试账号",
    },
    "found_by_linkage": {
        "en": "record linkage: merged ids (p >= {threshold:g} or exact rule)",
        "zh": "记录链接：合并的编号（p ≥ {threshold:g} 或精确规则）",
    },
    "found_by_reattribution": {
        "en": "lines re-attributed to the master id",
        "zh": "重新归属到主编号的订单行",
    },
    "found_by_date_formats": {"en": "formats parsed by the mapping", "zh": "映射解析的日期格式数"},
    "found_by_label_variants": {"en": "columns with label variants", "zh": "有标签变体的字段数"},
    "found_by_amount_formats": {
        "en": "amount styles parsed by the mapping",
        "zh": "映射解析的金额写法数",
    },
    # experiments: decisions and their reasons (crm_lib.experiments.decision)
    "reason_srm": {
        "en": "The arm sizes do not match the planned split, so assignment or logging is "
        "broken and no effect estimate can be trusted. Find the cause and rerun.",
        "zh": "各组人数与计划比例不符，说明分组或日志记录有误，任何效应估计都不可信。"
        "请查明原因后重新实验。",
    },
    "reason_guardrail": {
        "en": "A guardrail metric got significantly worse: {rows}",
        "zh": "护栏指标显著变差：{rows}",
    },
    "reason_worse": {
        "en": "The primary metric got significantly worse: {rows}",
        "zh": "主要指标显著变差：{rows}",
    },
    "reason_better": {
        "en": "The primary metric improved significantly: {rows}",
        "zh": "主要指标显著改善：{rows}",
    },
    "reason_flat_running": {
        "en": "No significant change in the primary metric yet, and the planned sample size "
        "is not reached: {rows}",
        "zh": "主要指标暂无显著变化，且尚未达到计划样本量：{rows}",
    },
    "reason_flat_done": {
        "en": "No significant change in the primary metric at the planned sample size; "
        "effects outside the interval are unlikely: {rows}",
        "zh": "在计划样本量下主要指标没有显著变化；区间以外的效应不太可能：{rows}",
    },
    "reason_metric": {
        "en": "{metric} {diff:+.4g} (CI {low:.4g} to {high:.4g}, adjusted p = {p:.3g})",
        "zh": "{metric} {diff:+.4g}（置信区间 {low:.4g} 至 {high:.4g}，校正后 p = {p:.3g}）",
    },
    "reason_bayes": {
        "en": "P(beats control) = {pb:.3f}, expected loss if shipped = {loss:.2g}, "
        "posterior mean difference {diff:+.4g}",
        "zh": "优于对照组的概率 = {pb:.3f}，上线的期望损失 = {loss:.2g}，后验均值差 {diff:+.4g}",
    },
    "reason_bayes_ship": {
        "en": "The treatment very probably beats the control: ",
        "zh": "实验组很可能优于对照组：",
    },
    "reason_bayes_no_ship": {
        "en": "The treatment very probably does not beat it: ",
        "zh": "实验组很可能不优于对照组：",
    },
    "reason_bayes_keep": {"en": "Not yet conclusive: ", "zh": "尚无定论："},
    "reason_sequential": {
        "en": "look {look}: difference {diff:+.4g}, always-valid CI {low:.4g} to {high:.4g}, "
        "always-valid p = {p:.3g}",
        "zh": "第 {look} 次查看：差值 {diff:+.4g}，始终有效置信区间 {low:.4g} 至 {high:.4g}，"
        "始终有效 p = {p:.3g}",
    },
    "reason_sequential_ship": {
        "en": "The always-valid test rejects in favour of the treatment: ",
        "zh": "始终有效检验拒绝原假设，结果有利于实验组：",
    },
    "reason_sequential_no_ship": {
        "en": "The always-valid test rejects against the treatment: ",
        "zh": "始终有效检验拒绝原假设，结果不利于实验组：",
    },
    "reason_sequential_done": {
        "en": "No effect detected at the planned maximum sample: ",
        "zh": "达到计划最大样本量仍未发现效应：",
    },
    "reason_sequential_keep": {
        "en": "No rejection yet; it is safe to keep looking: ",
        "zh": "尚未拒绝原假设，可以继续观察：",
    },
    "caveat_srm": {
        "en": "sample ratio mismatch (p = {p:.2g})",
        "zh": "样本比例不匹配（p = {p:.2g}）",
    },
    "caveat_underpowered": {
        "en": "underpowered: {n_min} units in the smaller arm of {n_required} planned",
        "zh": "功效不足：较小一组只有 {n_min} 个单位，计划为 {n_required} 个",
    },
    "caveat_guardrail": {"en": "guardrail breached: {rows}", "zh": "护栏指标恶化：{rows}"},
    "caveat_no_sample_size": {
        "en": "no planned sample size given: power not checked",
        "zh": "未给出计划样本量：未检查统计功效",
    },
    "caveat_no_maximum": {
        "en": "no planned maximum sample size given",
        "zh": "未给出计划最大样本量",
    },
    "caveat_none": {"en": "none", "zh": "无"},
    "mean": {"en": "Mean", "zh": "均值"},
    "df": {"en": "Degrees of freedom", "zh": "自由度"},
    "df1": {"en": "df (between)", "zh": "组间自由度"},
    "df2": {"en": "df (within)", "zh": "组内自由度"},
    "wave_a": {"en": "Wave A", "zh": "比较轮次 A"},
    "wave_b": {"en": "Wave B", "zh": "比较轮次 B"},
    "n_a": {"en": "n (wave A)", "zh": "A 轮样本量"},
    "n_b": {"en": "n (wave B)", "zh": "B 轮样本量"},
    "effect_size": {"en": "Effect size", "zh": "效应量"},
    "effect_size_name": {"en": "Effect size measure", "zh": "效应量指标"},
    "group_a": {"en": "Group A", "zh": "组 A"},
    "group_b": {"en": "Group B", "zh": "组 B"},
    "p_adj": {"en": "Adjusted p-value", "zh": "校正后 p 值"},
    "min_item_total_r": {"en": "Lowest item-total correlation", "zh": "最低题项-总分相关"},
    "item": {"en": "Item", "zh": "题项"},
    "factor_n": {"en": "Factor {n}", "zh": "因子 {n}"},
    "beta": {"en": "Beta (standardised)", "zh": "标准化系数 β"},
    "shapley_share": {"en": "Shapley share of R²", "zh": "Shapley 份额（R² 占比）"},
    "p_value_vs_promoter": {"en": "p-value vs promoters", "zh": "与推荐者比较的 p 值"},
    "covariate": {"en": "Covariate", "zh": "协变量"},
    "period": {"en": "Period", "zh": "期间"},
    "series": {"en": "Series", "zh": "序列"},
    "clv_12m": {"en": "CLV (12 months)", "zh": "12 个月 CLV"},
    "clv_customers": {"en": "Customers in the CLV", "zh": "计入 CLV 的客户数"},
    "cac_overall": {"en": "CAC (overall)", "zh": "整体获客成本"},
    "clv_cac": {"en": "CLV:CAC", "zh": "CLV:CAC"},
    "rep_mse": {
        "en": "MSE vs truth — raw: {raw:.5f}, shrunk: {shrunk:.5f}",
        "zh": "与真实值的均方误差（MSE）——原始：{raw:.5f}，收缩：{shrunk:.5f}",
    },
    "response_trend": {
        "en": "Trend of conversion with log response time (logit): coefficient {coef:.4g}, "
        "standard error {se:.4g}, p = {p_value:.3g}",
        "zh": "转化率随响应时间（取对数）的趋势（Logit）：系数 {coef:.4g}，标准误 {se:.4g}，"
        "p = {p_value:.3g}",
    },
    "lead_auc_oracle": {
        "en": "AUC of the true probabilities on the same leads (the best possible): {auc:.3f}",
        "zh": "同一批线索上真实概率的 AUC（可能达到的最佳值）：{auc:.3f}",
    },
    "pipeline_backtest": {
        "en": "{n} origins, coverage {coverage:.0%} (nominal {nominal:.0%})",
        "zh": "{n} 个预测起点，区间覆盖率 {coverage:.0%}（名义水平 {nominal:.0%}）",
    },
    "cell_in": {"en": "Cell as exported", "zh": "导出时的单元格"},
    "amount_in": {"en": "Amount as exported", "zh": "导出时的金额"},
    "cell_out": {"en": "Cell as written", "zh": "写出后的单元格"},
    "amount_out": {"en": "Amount as written", "zh": "写出后的金额"},
}

#: English labels that are not the value with its underscores as spaces (acronyms).
LABELS_EN: dict[str, str] = {
    "aov": "AOV (average order value)",
    "cac": "CAC (customer acquisition cost)",
    "nps": "NPS",
    "csat": "CSAT",
    "ces": "CES",
    "clv": "CLV",
    "seasonal_naive": "seasonal naive (the same week one season ago)",
    "naive_last_week": "naive (last week: the first training window is not longer than a season)",
    "ets_seasonal": "ETS with a seasonal term",
    "ets_no_season": "ETS without a seasonal term (fewer than two seasons in the first "
    "training window)",
}

LABELS: dict[str, str] = {
    "seasonal_naive": "季节性朴素（上一季节同周的值）",
    "naive_last_week": "朴素（上周的值：首个训练窗口不超过一个季节）",
    "ets_seasonal": "含季节项的 ETS",
    "ets_no_season": "不含季节项的 ETS（首个训练窗口不足两个季节）",
    # sizes of the simulated world
    "small": "小型",
    "default": "标准",
    # regions
    "north": "华北",
    "east": "华东",
    "south": "华南",
    "west": "西部",
    "central": "华中",
    # sales and marketing channels
    "web": "网站",
    "app": "App",
    "store": "门店",
    "mini_program": "小程序",
    "direct": "直接访问",
    "search": "搜索",
    "social": "社交媒体",
    "email": "邮件",
    "referral": "推荐",
    # categories
    "apparel": "服装",
    "beauty": "美妆",
    "electronics": "电子产品",
    "grocery": "食品杂货",
    "home": "家居",
    "sports": "运动",
    # funnel, experiment, survey
    "visit": "访问",
    "signup": "注册",
    "cart": "加购",
    "purchase": "购买",
    "control": "对照组",
    "coupon": "优惠券组",
    "promoter": "推荐者",
    "passive": "被动者",
    "detractor": "贬损者",
    "complete": "已完成",
    "partial": "未完成",
    # tables
    "customers": "客户表",
    "transactions": "交易表",
    "events": "行为事件表",
    "experiment_assignments": "实验分组表",
    "experiment_outcomes": "实验结果表",
    "survey_responses": "问卷答卷表",
    # experiment analyses: metrics, segments, decisions, roles
    "nps": "NPS",
    "converted": "转化",
    "revenue": "销售额",
    "orders": "订单数",
    "primary": "主要指标",
    "secondary": "次要指标",
    "guardrail": "护栏指标",
    "better": "变好",
    "worse": "变差",
    "flat": "无显著变化",
    "ship": "上线",
    "do not ship": "不上线",
    "keep running": "继续实验",
    "born_1990_or_later": "1990 年及以后出生",
    "born_before_1990": "1990 年以前出生",
    "unknown": "未知",
    "impute": "填补",
    "quarantine": "隔离",
    "keep": "保留（可为空）",
    "TwoModelUplift": "双模型（T 学习器）",
    "ClassTransformationUplift": "类别转换模型",
    "frequentist": "频率学派",
    "bayesian": "贝叶斯",
    "sequential": "序贯检验",
    # RFM segments and the eight classes (crm_lib.value)
    "Champions": "冠军客户",
    "Loyal": "忠诚客户",
    "Potential loyalist": "潜在忠诚客户",
    "New": "新客户",
    "Can't lose them": "不能失去的客户",
    "At risk": "流失风险客户",
    "Lost": "流失客户",
    "Hibernating": "休眠客户",
    "Important value": "重要价值客户",
    "Important development": "重要发展客户",
    "Important retention": "重要保持客户",
    "Important recovery": "重要挽留客户",
    "General value": "一般价值客户",
    "General development": "一般发展客户",
    "General retention": "一般保持客户",
    "General recovery": "一般挽留客户",
    # value tiers, migration, lifecycle (crm_lib.value)
    "none": "无消费",
    "up": "升级",
    "down": "降级",
    "same": "不变",
    "new": "新客",
    "active": "活跃",
    "at_risk": "有流失风险",
    "lapsed": "已流失",
    "female": "女",
    "male": "男",
    "other": "其他",
    # data quality (notebooks 01-02)
    "completeness": "完整性",
    "validity": "有效性",
    "uniqueness": "唯一性",
    "consistency": "一致性",
    "timeliness": "时效性",
    # satisfaction study (notebook 05)
    "out_of_range": "超出量表范围",
    "listwise": "成列删除",
    "pairwise": "成对删除",
    "duplicate": "重复提交",
    "speeder": "答题过快",
    "straight_lining": "直线作答",
    "total": "合计",
    "product": "商品",
    "price": "价格",
    "service": "服务",
    "delivery": "物流",
    "keep_up_the_good_work": "继续保持",
    "concentrate_here": "重点改进",
    "possible_overkill": "可能投入过度",
    "low_priority": "低优先级",
    # personalization study (notebook 09)
    "popularity": "热门商品",
    "personal": "个人常购",
    "item_to_item": "商品协同",
    "blend": "混合",
    "abandoned_cart": "购物车放弃",
    "lapsing": "流失预警",
    "win_back": "召回",
    "birthday": "生日",
    "nurture": "新客培育",
    "basket_lines": "购物篮明细",
    "customer_profiles": "客户资料（生日）",
    "carts": "购物车",
    # churn and retention study (notebook 06)
    "subscriptions": "订阅",
    "logistic": "逻辑回归",
    "gradient_boosting": "梯度提升",
    "btyd_p_alive": "BTYD 存活概率",
    "survival_gap": "生存模型（购买间隔）",
    "cox": "Cox 模型",
    "basic": "基础版",
    "standard": "标准版",
    "premium": "高级版",
    "contact": "联系",
    "holdout": "对照（不联系）",
    "all": "全部",
    "recency_days": "距上次购买天数",
    "orders_30d": "近 30 天订单数",
    "orders_90d": "近 90 天订单数",
    "orders_365d": "近 365 天订单数",
    "spend_90d": "近 90 天消费",
    "avg_order_value": "平均订单金额",
    "return_share": "退货比例",
    "categories": "品类数",
    "channels": "渠道数",
    "last_nps": "最近一次 NPS",
    "last_csat": "最近一次 CSAT",
    "has_survey": "是否参与调查",
    "signup_days": "注册天数",
    "age": "年龄",
    "train": "训练",
    "test": "测试",
    # attribution study (notebook 08)
    "first_touch": "首次触点",
    "last_touch": "末次触点",
    "last_non_direct": "末次非直接触点",
    "linear": "线性",
    "time_decay": "时间衰减",
    "position_based": "位置（U 型）",
    "w_shaped": "W 型",
    "markov": "马尔可夫链",
    "shapley_path": "Shapley（路径）",
    "shapley_incremental": "Shapley（增量）",
    "truth": "真实值",
    "touchpoints": "营销触点",
    # funnel, pipeline and KPIs (notebook 07)
    "leads": "销售线索",
    "opportunities": "商机",
    "opportunity_stages": "商机阶段记录",
    "marketing_spend": "营销费用",
    "partner": "合作伙伴",
    "trade_show": "展会",
    "outbound": "外呼/主动拓客",
    "qualification": "资格确认",
    "needs_analysis": "需求分析",
    "proposal": "方案报价",
    "negotiation": "谈判",
    "closed_won": "赢单",
    "closed_lost": "丢单",
    "no_budget": "无预算",
    "competitor": "选择竞争对手",
    "no_decision": "未决策",
    "timing": "时机不当",
    "kaplan_meier": "Kaplan-Meier（含未结商机）",
    "closed_only": "仅已结商机",
    "ets": "ETS 指数平滑",
    "sarimax": "SARIMAX",
    "snaive": "季节性朴素法",
    "sarimax_no_calendar": "SARIMAX（无节假日变量）",
    "calendar_events": "节假日与促销日历",
    "spring_festival": "春节",
    "mid_year_sale": "618 年中大促",
    "singles_day": "双十一",
    "black_friday": "黑色星期五",
    "christmas_eve": "平安夜",
    "holiday_dates": "节假日",
    "active_customers": "活跃客户数",
    "new_customers": "新客户数",
    "retention_rate": "留存率",
    "churn_rate": "流失率",
    "aov": "客单价",
    "purchase_frequency": "购买频次",
    "revenue_per_customer": "每客户收入",
    "cac": "获客成本",
    "lead_to_customer_rate": "线索转客户率",
    "csat": "满意度",
    "never": "从未联系",
    # zh reports in Chinese (issue 19): values shown in tables and plots
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "test_data": "测试数据",
    "references": "参照完整性",
    "outliers": "异常值",
    "deduplication": "客户去重",
    "returns": "退货冲抵",
    "merged into a master record, listed in the merge log": "合并到主记录，记入合并日志",
    "test_account": "测试账号",
    "test_order": "测试订单",
    "missing_value": "缺失值",
    "duplicate_line": "重复订单行",
    "negative_without_order": "无原订单的负金额",
    "outlier": "异常值",
    "duplicate_customer": "重复客户",
    "duplicate_customer_order": "重复客户的订单",
    "date_format": "日期格式",
    "label_variant": "标签变体",
    "amount_format": "金额格式",
    "exact_email": "邮箱相同",
    "exact_email_phone": "邮箱与手机号均相同",
    "exact_phone": "手机号相同",
    "match_probability": "匹配概率",
    "consent_given": "已同意",
    "consent_refused": "已拒绝",
    "consent_unknown": "未表态（视为拒绝）",
    "simulated world": "模拟世界的固定密钥",
    "key argument": "函数参数",
    "key file": "密钥文件",
    "ratio": "比值",
    "iqr": "四分位距",
    "robust_z": "稳健 z 分数",
    "flag": "仅标记",
    "cap": "截断",
    "required": "必填为空",
    "contract": "违反契约",
    "duplicate_key": "主键重复",
    "orphan_line": "没有客户的订单行",
    "over_credit": "退款超过原订单",
    "credit_without_order": "没有原订单的退款",
    "return_without_order": "没有原订单的退货",
    "currency_missing": "缺少货币",
    "loaded": "已加载",
    "skipped: already loaded": "已跳过：此前已加载",
    "mostly quarantined": "大部分被隔离",
    "all quarantined": "全部被隔离",
    "amount": "金额",
    "log ": "对数",
    "customer_id": "客户编号",
    "pre_period_revenue": "实验前收入",
    "score test (Miettinen-Nurminen); score CIs": "得分检验（Miettinen-Nurminen）；得分区间",
    "Welch t": "Welch t 检验",
    "Mann-Whitney U": "Mann-Whitney U 检验",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier 分数",
    "ece": "期望校准误差（ECE）",
    "top_decile_lift": "前 10% 提升度",
    "hit_rate": "命中率",
    "precision": "精确率",
    "recall": "召回率",
    "coverage": "覆盖率",
    "unweighted": "未加权",
    "weighted": "加权",
    "adjusted wald": "调整 Wald 区间",
    "adjusted wald (linearisation)": "调整 Wald 区间（线性化）",
    "wilson": "Wilson 区间",
    "wilson (Kish n_eff)": "Wilson 区间（Kish 有效样本量）",
    "t": "t 区间",
    "t (linearisation)": "t 区间（线性化）",
    "anova": "单因素方差分析",
    "welch_anova": "Welch 方差分析",
    "kruskal": "Kruskal-Wallis 检验",
    "eta_squared": "η²",
    "epsilon_squared": "ε²",
    "log_orders": "订单数（对数）",
    "plan_standard": "套餐：标准版（相对基础版）",
    "plan_premium": "套餐：高级版（相对基础版）",
    "auto_renew": "自动续订",
    "promo": "促销入网",
    "repurchase_rate": "复购率",
    "tenure_days": "距首次购买天数",
    "spend": "累计消费",
    "overdue": "逾期程度（距上次购买 / 平均购买间隔）",
    "timestamp, UTC": "时间戳（UTC）",
    "currency (see currency column)": "货币（见货币字段）",
    "currency": "货币",
    "units": "件",
    "year": "年",
}


#: The contract's column descriptions in Chinese (``table.column``), for the contract table
#: a report shows (notebook 01); :func:`column_description` falls back to the contract's text.
COLUMN_DESCRIPTIONS_ZH: dict[str, str] = {
    "customers.customer_id": "客户主键（假名）。",
    "customers.name": "客户填写的姓名。",
    "customers.email": "邮箱地址。",
    "customers.phone": "手机号，E.164 格式（+86...）。",
    "customers.signup_at": "账号创建时间。",
    "customers.region": "销售区域；未填写时为“未知”。",
    "customers.acquisition_channel": "带来该客户的营销渠道；未填写时为“未知”。",
    "customers.gender": "客户自报的性别；未填写时为“未知”。",
    "customers.birth_year": "客户自报的出生年份（未填写时为空）。",
    "customers.marketing_consent": "客户同意接收营销信息（邮件、短信、App 推送）。",
    "transactions.order_id": "订单主键；与行号一起构成订单行的主键。",
    "transactions.line_no": "订单内的行号。",
    "transactions.customer_id": "买家（引用客户表的客户编号）。",
    "transactions.ordered_at": "下单时间。",
    "transactions.amount": "订单行净额；退货行为负数。",
    "transactions.currency": "ISO 4217 货币代码。",
    "transactions.quantity": "件数；退货行为负数。",
    "transactions.product_id": "商品主键。",
    "transactions.category": "商品品类；未填写时为“未知”。",
    "transactions.channel": "销售渠道；未填写时为“未知”。",
    "transactions.original_order_id": "退货行所退的原订单；其他行为空。",
}


def column_description(table: str, column: str, description: str, language: str = "en") -> str:
    """A contract column's ``description`` in ``language`` (as given when not translated)."""
    check_language(language)
    if language == "zh":
        return COLUMN_DESCRIPTIONS_ZH.get(f"{table}.{column}", description)
    return description


def check_language(language: str) -> str:
    """Return ``language`` if supported, else raise ``ValueError`` saying which are."""
    if language not in LANGUAGES:
        raise ValueError(
            f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}"
        )
    return language


def t(key: str, language: str = "en") -> str:
    """The message ``key`` in ``language``.

    Raises
    ------
    KeyError
        For an unknown key (a typo in a notebook must not pass silently).
    """
    check_language(language)
    try:
        return MESSAGES[key][language]
    except KeyError:
        raise KeyError(f"no message {key!r}; add it to crm_lib.i18n.MESSAGES") from None


def label(value: object, language: str = "en") -> str:
    """A category value as shown in a report (unknown values are shown as they are).

    A path of known values (``"search > social"``, ``"visit -> signup"``) is shown step by
    step; a text the code made with numbers in it (``"bootstrap percentile (B=2000,
    seed=1)"``) by its pattern in :data:`_PATTERNS_ZH`.
    """
    check_language(language)
    text = str(value)
    if language != "zh":
        return LABELS_EN.get(text, text.replace("_", " "))
    if text in LABELS:
        return LABELS[text]
    for pattern, template in _PATTERNS_ZH:
        match = pattern.fullmatch(text)
        if match:
            parts = {k: label(v or "", language) for k, v in match.groupdict().items()}
            return template.format(**parts)
    for arrow in _ARROWS:
        steps = text.split(arrow)
        if len(steps) > 1 and all(step in LABELS for step in steps):
            return arrow.join(LABELS[step] for step in steps)
    return text


_ARROWS = (" -> ", " > ")
#: Texts made by the code with numbers or names in them (a method with its settings, an
#: outlier rule with its bounds), shown in Chinese; each named part is a label itself.
_PATTERNS_ZH = [
    (
        re.compile(r"(?P<step>\w+) needs the customers export, which was not given"),
        "{step}需要客户导出文件，但未提供",
    ),
    (
        re.compile(r"bootstrap percentile \(B=(?P<b>\d+), seed=(?P<seed>\d+)\)"),
        "自助法百分位区间（B={b}，种子 {seed}）",
    ),
    (
        re.compile(r"CUPED \(covariate (?P<col>\w+)\) \+ Welch t"),
        "CUPED（协变量：{col}）+ Welch t 检验",
    ),
    (
        re.compile(
            r"ratio k=(?P<k>[\d.]+) on (?P<col>\w+): > [\d.]+ x median of the other values "
            r"of the same (?P<group>\w+) \(groups of >= (?P<n>\d+)\)"
        ),
        "比值规则（k={k}）：{col}超过同一{group}其他值中位数的 {k} 倍（每组至少 {n} 个值）",
    ),
    (
        re.compile(
            r"(?P<rule>iqr|robust_z) k=(?P<k>[\d.]+) on (?P<log>log )?(?P<col>\w+): "
            r"\[(?P<lo>[^,\]]+), (?P<hi>[^\]]+)\]"
        ),
        "{rule}规则（k={k}）：{log}{col}在 [{lo}, {hi}] 之外",
    ),
]


def quantity_table(
    values: Mapping[str, Any], language: str = "en", *, currency: str | None = None
) -> pd.DataFrame:
    """Named numbers (``{"orders": 1200, "return_rate": 0.04}``) as a table to show.

    Two columns, ``quantity`` (each name translated as a message key: an unknown name is a
    ``KeyError``, so no raw key reaches a report) and ``value``, each value written as its
    name says (a share as a percentage, money with ``currency``: :mod:`crm_lib.tables`),
    text values translated as category labels; headings translated.
    """
    from crm_lib.tables import column_kind, format_value

    def shown(key: str, value: Any) -> str:
        if isinstance(value, str):
            return label(value, language)
        return format_value(value, column_kind(key), currency=currency, language=language)

    table = pd.DataFrame(
        {
            "quantity": [t(str(key), language) for key in values],
            "value": [shown(str(key), value) for key, value in values.items()],
        }
    )
    return translate_frame(table, language)


def translate_frame(
    df: pd.DataFrame,
    language: str = "en",
    *,
    values: list[str] | None = None,
    code: list[str] | None = None,
) -> pd.DataFrame:
    """Rename columns that are message keys and translate category values of ``values``.

    The result remembers what each column holds (share, money, p-value), read from its
    name before translation, in ``attrs["column_kinds"]`` for :mod:`crm_lib.tables`.
    The columns of ``code`` hold identifiers (column or file names, data types, rule
    names as the narrative writes them): they are kept as they are and shown in code
    font, in every language.
    """
    check_language(language)
    out = df.copy()
    for col in values or []:
        out[col] = out[col].map(lambda v: label(v, language))
    names = {c: t(c, language) for c in out.columns if c in MESSAGES}
    out = out.rename(columns=names)
    # what each column holds, read from its name before translation (crm_lib.tables)
    from crm_lib.tables import column_kinds

    kinds = dict(df.attrs.get("column_kinds") or {})
    kinds.update({names.get(c, c): k for c, k in column_kinds(df.columns).items()})
    kinds.update({names.get(c, c): "code" for c in code or []})
    out.attrs["column_kinds"] = kinds
    return out
