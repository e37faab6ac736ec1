// Allure Report 3 configuration, used by scripts/report (npx -y allure@3 generate ...).
// One self-contained HTML file: it opens from disk, no web server needed.
export default {
  name: "pytest-soak: Definition of Done",
  output: "./artifacts/allure-report",
  plugins: {
    awesome: {
      options: { singleFile: true, reportName: "pytest-soak: Definition of Done", groupBy: ["epic", "feature"] },
    },
  },
};
