import Foundation
import RelayCore
import Testing

@testable import RelayServer

private let smallCatalog = """
    # Two service centres and one service with a form.
    units:
      - {id: qd-xihaian, name: 青岛西海岸新区政务服务中心, region: 370211}
      - {id: jn-lixia, name: 济南历下区政务服务中心, region: "370102"}
    services:
      - code: business-license
        name: 营业执照办理
        handledBy: [qd-xihaian, jn-lixia]
        form: license-form
      - {code: residence, name: 居住证, handledBy: [jn-lixia]}
    forms:
      - id: license-form
        title: 营业执照申请表
        fields:
          - {id: company, label: 企业名称, type: text, required: true, maxLength: 60}
          - {id: idNumber, label: 身份证号, type: idNumber, required: true}
          - {id: kind, label: 类型, type: select, options: [有限责任公司, 个体工商户]}
          - {id: code, label: 代码, type: text, pattern: "[0-9A-Z]{18}"}
    """

private func catalogError(_ yaml: String) -> ConfigError? {
    do {
        _ = try RelayConfiguration.decodeCatalog(yaml: yaml, path: "catalog.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite struct CatalogLoadingTests {
    @Test func smallCatalogLoadsFromAFile() throws {
        let scratch = try Scratch()
        let path = try scratch.write("catalog.yaml", smallCatalog)
        var configuration = RelayConfiguration()
        configuration.catalog = path
        let catalog = try configuration.loadCatalog()
        #expect(catalog.units.map(\.id) == ["qd-xihaian", "jn-lixia"])
        #expect(catalog.unit("qd-xihaian")?.region == "370211")
        #expect(catalog.unit("jn-lixia")?.name == "济南历下区政务服务中心")
        #expect(catalog.service("business-license")?.handledBy == ["qd-xihaian", "jn-lixia"])
        #expect(catalog.service("business-license")?.form == "license-form")
        #expect(catalog.service("residence")?.form == nil)
        let fields = try #require(catalog.form("license-form")?.fields)
        #expect(fields.map(\.type) == [.text, .idNumber, .select, .text])
        #expect(fields[0].isRequired && fields[0].maxLength == 60)
        #expect(fields[2].options == ["有限责任公司", "个体工商户"])
        #expect(fields[3].pattern == "[0-9A-Z]{18}")
    }

    @Test func formsMayBeLeftOut() throws {
        let catalog = try RelayConfiguration.decodeCatalog(
            yaml: "units: [{id: a, name: A, region: '110000'}]\nservices: [{code: s, name: S, handledBy: [a]}]\n",
            path: "catalog.yaml"
        )
        #expect(catalog.forms.isEmpty)
        #expect(catalog.services.count == 1)
    }

    @Test func missingKeyNamesTheKeyPathAndLine() {
        let error = catalogError("units:\n  - id: a\n    region: '1'\nservices: []\n")
        #expect(error == .catalog(path: "catalog.yaml", line: 2, keyPath: "units[0]", problem: "missing \"name\""))
        #expect(error?.description == "catalog.yaml:2: invalid catalog at \"units[0]\": missing \"name\"")
    }

    @Test func typosAreNotIgnored() {
        let typo = smallCatalog.replacingOccurrences(of: "required: true, maxLength", with: "requried: true, maxLength")
        #expect(
            catalogError(typo)
                == .catalog(
                    path: "catalog.yaml",
                    line: 15,
                    keyPath: "forms[0].fields[0].requried",
                    problem: "unknown key"
                )
        )
        // A misspelt required key is reported as missing.
        let missing = smallCatalog.replacingOccurrences(of: "handledBy: [jn-lixia]", with: "handledby: [jn-lixia]")
        #expect(catalogError(missing)?.description.contains("at \"services[1]\": missing \"handledBy\"") == true)
    }

    @Test func wrongTypesAndBadFieldTypesAreNamed() {
        let list = catalogError(
            "units: [{id: a, name: A, region: '1'}]\nservices: [{code: s, name: S, handledBy: a}]\n"
        )
        #expect(list?.description.hasPrefix("catalog.yaml:2: invalid catalog at \"services[0].handledBy\"") == true)
        let kind = smallCatalog.replacingOccurrences(of: "type: select", with: "type: dropdown")
        let error = catalogError(kind)
        #expect(error?.description.contains("forms[0].fields[2].type") == true)
        #expect(error?.description.contains("one of text, number, date, select, idNumber") == true)
    }

    @Test func notACatalogAtAll() {
        #expect(catalogError("- just\n- a list\n")?.description.contains("expected a mapping") == true)
        #expect(catalogError("units: [\n") != nil)
        #expect(throws: ConfigError.unreadable(path: "/nonexistent/catalog.yaml", reason: "no such file")) {
            try RelayConfiguration.loadCatalog(path: "/nonexistent/catalog.yaml")
        }
    }
}
