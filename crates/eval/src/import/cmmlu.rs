//! CMMLU's layout (Li et al. 2023): `test/SUBJECT.csv` holds the questions, `dev/SUBJECT.csv`
//! five answered questions per subject for few-shot prompts; 67 subjects, each in one of
//! four groups (STEM, humanities, social science, other) and some also China-specific.
//!
//! The data is CC BY-NC-SA 4.0 and is never embedded: this module only knows the layout, the
//! subjects' Chinese names and their groups, and writes prompts the way CMMLU's own evaluation
//! does (a line naming the subject, then `题目：…` with lettered options and `答案是：X` for each
//! example).

use std::path::{Path, PathBuf};

use assay_core::Language;

use super::{c_eval, read_delimited, slug, Builder, ImportError};
use crate::suite::{Category, Item, Manifest, Suite};

/// The most examples a prompt can have: CMMLU's `dev/` files hold five per subject.
pub const MAX_SHOTS: usize = 5;

const STEM: &str = "stem";
const HUMANITIES: &str = "humanities";
const SOCIAL: &str = "social-science";
const OTHER: &str = "other";
const CHINA: &str = "china-specific";

/// Each subject (its file name), its Chinese name, and the groups it counts in.
const SUBJECTS: [(&str, &str, &[&str]); 67] = [
    ("agronomy", "农学", &[OTHER]),
    ("anatomy", "解剖学", &[STEM]),
    ("ancient_chinese", "古汉语", &[SOCIAL, CHINA]),
    ("arts", "艺术学", &[HUMANITIES]),
    ("astronomy", "天文学", &[STEM]),
    ("business_ethics", "商业伦理", &[SOCIAL]),
    (
        "chinese_civil_service_exam",
        "中国公务员考试",
        &[SOCIAL, CHINA],
    ),
    ("chinese_driving_rule", "中国驾驶规则", &[OTHER, CHINA]),
    ("chinese_food_culture", "中国饮食文化", &[SOCIAL, CHINA]),
    ("chinese_foreign_policy", "中国外交政策", &[SOCIAL, CHINA]),
    ("chinese_history", "中国历史", &[HUMANITIES, CHINA]),
    ("chinese_literature", "中国文学", &[HUMANITIES, CHINA]),
    (
        "chinese_teacher_qualification",
        "中国教师资格",
        &[SOCIAL, CHINA],
    ),
    ("clinical_knowledge", "临床知识", &[OTHER]),
    ("college_actuarial_science", "大学精算学", &[STEM]),
    ("college_education", "大学教育学", &[SOCIAL]),
    ("college_engineering_hydrology", "大学工程水文学", &[STEM]),
    ("college_law", "大学法律", &[HUMANITIES]),
    ("college_mathematics", "大学数学", &[STEM]),
    ("college_medical_statistics", "大学医学统计", &[STEM]),
    ("college_medicine", "大学医学", &[OTHER]),
    ("computer_science", "计算机科学", &[STEM]),
    ("computer_security", "计算机安全", &[OTHER]),
    ("conceptual_physics", "概念物理学", &[STEM]),
    (
        "construction_project_management",
        "建设工程管理",
        &[OTHER, CHINA],
    ),
    ("economics", "经济学", &[SOCIAL]),
    ("education", "教育学", &[SOCIAL]),
    ("electrical_engineering", "电气工程", &[STEM]),
    ("elementary_chinese", "小学语文", &[SOCIAL, CHINA]),
    ("elementary_commonsense", "小学常识", &[OTHER, CHINA]),
    (
        "elementary_information_and_technology",
        "小学信息技术",
        &[OTHER],
    ),
    ("elementary_mathematics", "初等数学", &[STEM]),
    ("ethnology", "民族学", &[SOCIAL, CHINA]),
    ("food_science", "食品科学", &[OTHER]),
    ("genetics", "遗传学", &[STEM]),
    ("global_facts", "全球事实", &[HUMANITIES]),
    ("high_school_biology", "高中生物", &[STEM]),
    ("high_school_chemistry", "高中化学", &[STEM]),
    ("high_school_geography", "高中地理", &[SOCIAL]),
    ("high_school_mathematics", "高中数学", &[STEM]),
    ("high_school_physics", "高中物理学", &[STEM]),
    ("high_school_politics", "高中政治", &[SOCIAL, CHINA]),
    ("human_sexuality", "人类性行为", &[OTHER]),
    ("international_law", "国际法学", &[HUMANITIES]),
    ("journalism", "新闻学", &[SOCIAL]),
    ("jurisprudence", "法理学", &[HUMANITIES]),
    ("legal_and_moral_basis", "法律与道德基础", &[OTHER]),
    ("logical", "逻辑学", &[HUMANITIES]),
    ("machine_learning", "机器学习", &[STEM]),
    ("management", "管理学", &[SOCIAL]),
    ("marketing", "市场营销", &[SOCIAL]),
    ("marxist_theory", "马克思主义理论", &[HUMANITIES]),
    ("modern_chinese", "现代汉语", &[SOCIAL, CHINA]),
    ("nutrition", "营养学", &[OTHER]),
    ("philosophy", "哲学", &[HUMANITIES]),
    ("professional_accounting", "专业会计", &[SOCIAL]),
    ("professional_law", "专业法学", &[HUMANITIES]),
    ("professional_medicine", "专业医学", &[OTHER]),
    ("professional_psychology", "专业心理学", &[SOCIAL]),
    ("public_relations", "公共关系", &[SOCIAL]),
    ("security_study", "安全研究", &[SOCIAL]),
    ("sociology", "社会学", &[SOCIAL]),
    ("sports_science", "体育学", &[OTHER]),
    ("traditional_chinese_medicine", "中医中药", &[OTHER, CHINA]),
    ("virology", "病毒学", &[STEM]),
    ("world_history", "世界历史", &[HUMANITIES]),
    ("world_religions", "世界宗教", &[HUMANITIES]),
];

/// Reads CMMLU at `path` — its root (with `test/` and `dev/`), or one subject's test CSV —
/// as a suite called `name`: every test question, its subject the category (named in
/// Chinese, with the subject's groups), each prompt led by `shots` answered questions of
/// the subject's `dev/` file.
pub(super) fn import(path: &Path, name: &str, shots: usize) -> Result<Suite, ImportError> {
    let shown = path.display().to_string();
    let unsupported = |message: String| ImportError::Unsupported {
        file: shown.clone(),
        message,
    };
    if shots > MAX_SHOTS {
        return Err(unsupported(format!(
            "--shots {shots}: CMMLU's dev/ files hold {MAX_SHOTS} examples per subject (use 0 to {MAX_SHOTS})"
        )));
    }
    let (tests, dev) = if path.is_dir() {
        let test_dir = path.join("test");
        if !test_dir.is_dir() {
            return Err(unsupported(
                "no test/ folder: CMMLU's layout is test/SUBJECT.csv, and dev/SUBJECT.csv for --shots"
                    .into(),
            ));
        }
        (csv_files(&test_dir, &shown)?, path.join("dev"))
    } else {
        // One subject's file: its examples are in the dev/ folder beside its own.
        let parent = path.parent().unwrap_or(Path::new("."));
        (vec![path.to_path_buf()], parent.join("..").join("dev"))
    };
    if tests.is_empty() {
        return Err(unsupported("test/ holds no .csv files".into()));
    }
    let mut items = Vec::new();
    let mut categories = Vec::new();
    for test in &tests {
        let subject = super::subject(test);
        let known = SUBJECTS.iter().find(|(en, ..)| *en == subject);
        let (zh, groups) = known.map_or((subject.as_str(), &[][..]), |(_, zh, g)| (*zh, *g));
        let examples = if shots == 0 {
            String::new()
        } else {
            let dev_file = dev.join(format!("{subject}.csv"));
            let answered = read_subject(&dev_file, name, &subject)?;
            if answered.len() < shots {
                return Err(ImportError::Unsupported {
                    file: dev_file.display().to_string(),
                    message: format!(
                        "{} answered questions, --shots {shots} needs {shots}",
                        answered.len()
                    ),
                });
            }
            answered[..shots].iter().map(example).collect()
        };
        let category = slug(&subject);
        for mut item in read_subject(test, name, &subject)? {
            let question = item.prompt.remove(&Language::Zh).unwrap_or_default();
            item.prompt.insert(
                Language::Zh,
                format!("{}{examples}题目：{question}", heading(zh)),
            );
            item.id = format!("{category}-{}", item.id);
            items.push(item);
        }
        categories.push(Category {
            id: category,
            name: zh.to_string(),
            description: subject.replace('_', " "),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        });
    }
    let unknown: Vec<&str> = categories
        .iter()
        .filter(|c| c.groups.is_empty())
        .map(|c| c.description.as_str())
        .collect();
    let mut description = format!(
        "CMMLU (Li et al. 2023), imported from {shown}: {} subjects, {} test questions, {}.",
        categories.len(),
        items.len(),
        if shots == 0 {
            "zero-shot".to_string()
        } else {
            format!("{shots}-shot (the first {shots} questions of each subject's dev/ file)")
        }
    );
    if !unknown.is_empty() {
        description.push_str(&format!(
            " Subjects that are not CMMLU's, in no group: {}.",
            unknown.join(", ")
        ));
    }
    Ok(Suite {
        manifest: Manifest {
            name: name.to_string(),
            version: format!("imported-{shots}-shot"),
            license: "CC BY-NC-SA 4.0 (CMMLU; non-commercial use only)".into(),
            description,
            updated: None,
            categories,
        },
        items,
    })
}

/// The `.csv` files of a folder, in name order.
fn csv_files(dir: &Path, shown: &str) -> Result<Vec<PathBuf>, ImportError> {
    let read_error = |source| ImportError::Read {
        file: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(ImportError::Unsupported {
            file: shown.to_string(),
            message: format!("{} holds no .csv files", dir.display()),
        });
    }
    Ok(files)
}

/// The questions of one subject's CSV (`,Question,A,B,C,D,Answer`), problems reported with
/// the file's name and lines.
fn read_subject(path: &Path, name: &str, subject: &str) -> Result<Vec<Item>, ImportError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        file: file.clone(),
        source,
    })?;
    let mut out = Builder::new(&file, name);
    if let Some(table) = read_delimited(&bytes, b',', &mut out) {
        c_eval(&table, subject, &mut out);
    }
    Ok(out.finish(String::new())?.items)
}

/// The line that opens every prompt, naming the subject (CMMLU's own wording).
fn heading(subject_zh: &str) -> String {
    format!("以下是关于{subject_zh}的单项选择题，请直接给出正确答案的选项。\n\n")
}

/// An answered question, as the examples of a few-shot prompt show it.
fn example(item: &Item) -> String {
    let mut text = format!(
        "题目：{}",
        item.prompt.get(&Language::Zh).map_or("", String::as_str)
    );
    let choices = item
        .choices
        .get(&Language::Zh)
        .map_or(&[][..], Vec::as_slice);
    for (i, choice) in choices.iter().enumerate() {
        text.push_str(&format!("\n{}. {choice}", super::letter(i)));
    }
    let answer = item.answer.map(super::letter).unwrap_or_default();
    text.push_str(&format!("\n答案是：{answer}\n\n"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subject_is_in_one_topical_group_and_maybe_china_specific() {
        let names: std::collections::HashSet<&str> = SUBJECTS.iter().map(|s| s.0).collect();
        assert_eq!(names.len(), 67, "subjects are unique");
        for (en, zh, groups) in SUBJECTS {
            let topical = groups.iter().filter(|g| **g != CHINA).count();
            assert_eq!(topical, 1, "{en}");
            assert!(!zh.is_empty());
        }
        let china = SUBJECTS.iter().filter(|s| s.2.contains(&CHINA)).count();
        assert_eq!(china, 15);
    }
}
