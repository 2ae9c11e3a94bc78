/// The words of each problem, in Chinese and English. Messages name the field by its label.
extension FieldDefect {
    /// This defect as a wire problem for `field`, in `language`.
    public func problem(field: FormField, language: MessageLanguage) -> Problem {
        Problem(code: code, message: message(label: field.label, options: field.options ?? [], language: language))
    }

    /// The message alone.
    public func message(label: String, options: [String] = [], language: MessageLanguage) -> String {
        switch language {
        case .zh: zh("“\(label)”", options)
        case .en: en("\"\(label)\"", options)
        }
    }

    private func zh(_ f: String, _ options: [String]) -> String {
        switch self {
        case .missing: "请填写\(f)"
        case .patternMismatch: "\(f)格式不正确"
        case .tooLong(let limit): "\(f)最多 \(limit) 个字"
        case .notAnOption: "\(f)须为以下之一：\(options.joined(separator: "、"))"
        case .wrongType(let kind):
            switch kind {
            case .text: "\(f)须为文字"
            case .number: "\(f)须为数字"
            case .date: "\(f)须为有效日期，格式为 YYYY-MM-DD"
            case .select: "\(f)须从选项中选择"
            case .idNumber: "\(f)须为 18 位居民身份证号码"
            }
        case .idNumber(let d):
            switch d {
            case .length: "\(f)须为 18 位"
            case .characters: "\(f)前 17 位须为数字，最后一位为数字或 X"
            case .birthDate: "\(f)中的出生日期（第 7–14 位）不是有效日期"
            case .checksum: "\(f)校验码不符，请核对号码"
            case .lowercaseCheck: "\(f)最后一位 X 须大写"
            }
        }
    }

    private func en(_ f: String, _ options: [String]) -> String {
        switch self {
        case .missing: "\(f) is required"
        case .patternMismatch: "\(f) is not in the required format"
        case .tooLong(let limit): "\(f) may have at most \(limit) characters"
        case .notAnOption: "\(f) must be one of: \(options.joined(separator: ", "))"
        case .wrongType(let kind):
            switch kind {
            case .text: "\(f) must be text"
            case .number: "\(f) must be a number"
            case .date: "\(f) must be a real date written YYYY-MM-DD"
            case .select: "\(f) must be one of the options"
            case .idNumber: "\(f) must be an 18-character resident ID number"
            }
        case .idNumber(let d):
            switch d {
            case .length: "\(f) must have 18 characters"
            case .characters: "\(f) must be 17 digits followed by a digit or X"
            case .birthDate: "\(f) has a birth date (characters 7–14) that is not a real date"
            case .checksum: "\(f) has a check character that does not match; please check the number"
            case .lowercaseCheck: "\(f) must end in an uppercase X"
            }
        }
    }
}
